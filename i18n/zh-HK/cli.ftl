# --help 文字（Project Fluent 語法）。每個鍵亦須見於 i18n/en/cli.ftl。

cli-about = 數據中心遙測及能源效益：經 SNMP 及 Modbus 輪詢電錶、UPS、PDU、冷卻設備、感測器及伺服器，儲存讀數並計算 PUE。
cli-heading-usage = 用法：
cli-heading-options = 選項
cli-heading-commands = 命令

## 命令
cli-cmd-demo = 在同一程序內運行模擬場地、收集器及內置儲存，毋須安裝任何軟件。
cli-cmd-sim = 在本機回送位址提供模擬數據中心（SNMP 代理及 Modbus 伺服器）。
cli-cmd-collect = 將設備清單中的設備讀數輪詢至內置儲存，直至中斷。
cli-cmd-probe = 讀取一部設備一次並列出其讀數。
cli-cmd-discover = 在位址範圍內尋找 SNMP 設備，偵測各設備支援的設定檔，並寫出設備清單草稿。
cli-cmd-store = 管理內置儲存：store stats|compact|export --data 目錄。
cli-cmd-store-stats = 內置儲存各層的樣本數及位元組。
cli-cmd-store-compact = 立即壓縮內置儲存。
cli-cmd-store-export = 以 CSV 匯出讀數。
cli-cmd-report = 供規劃人員及監管機構使用的報告。
cli-cmd-report-pue = 各場地及量度類別的電源使用效率（PUE），連覆蓋率、不確定度、pPUE、CUE、二氧化碳排放及費用。
cli-cmd-report-capacity = 機櫃功率與預算、PDU 斷路器、UPS N/N+1、冷卻負載、閒置容量、進風溫度合規及 RCI。
cli-cmd-report-consolidation = 伺服器概況、閒置伺服器、各場地所需主機、節省、場地遷移排序及成效核實。
cli-cmd-report-annual = 各場地全年的歐盟數據中心數據集，每項註明實測、輸入或缺失，並附 PUE、WUE、ERF、REF、CUE、CER 及 ITEUsv。
cli-cmd-tui = 以已儲存數據運行的終端介面：概覽、場地、機櫃、設備、警報、趨勢。
cli-cmd-import = 將歷史數據（電錶讀數 CSV）匯入內置儲存，全部成功或全部不匯入。
cli-cmd-pue = 以已儲存數據計算某時段內各計量點的能源及 PUE。
cli-cmd-publish = 將分析結果寫入 InfluxDB，供 Grafana 儀表板使用。
cli-cmd-fleet = 由心跳訊號查看各收集器：無訊號、落後、設備離線。
cli-cmd-check-config = 驗證設定檔：無誤時結束碼為 0，否則結束碼為 2，並逐一列出每個問題的檔案、行號及鍵。

## 多個命令共用的參數
cli-arg-help = 顯示說明
cli-arg-version = 顯示版本
cli-arg-config = 設備清單檔案（TOML）
cli-arg-data = 內置儲存的數據目錄（預設：設備清單 [store] 的路徑）
cli-arg-source = 改由此來源讀取（中央引擎 URL），而非內置儲存
cli-arg-influx = InfluxDB 或 VictoriaMetrics 的 URL
cli-arg-from = 時段開始：RFC 3339 時間、日期（場地當地午夜）或 --to 之前的時長
cli-arg-to = 時段結束：RFC 3339 時間、日期（當地午夜，不包括在內）或「now」
cli-arg-year = 各場地時區的曆年，例如 2025
cli-arg-month = 各場地時區的曆月，例如 2025-06
cli-arg-format = 輸出格式
cli-arg-lang = 語言：en 或 zh-HK（繁體中文）
cli-arg-out = 寫入此檔案而非標準輸出
cli-arg-max-gap = 積分時，相隔超過此時長的功率樣本不作銜接
cli-arg-json = 以 JSON 輸出，供程式讀取
cli-arg-speed = 以實際時間的此倍數運行
cli-arg-speed-epoch = 配合 --speed：模擬時間與實際時間相同的時刻
cli-arg-sim-start = 配合 --speed-epoch：該時刻的模擬時間
cli-arg-timeout = 等候設備回應的時限
cli-arg-file = 設備清單檔案（TOML）
cli-arg-headless = 每個週期輸出一行 JSON，而非終端介面
cli-arg-duration = 運行此時長後停止
cli-arg-inventory = 將模擬設備的收集器設備清單寫到此處
cli-arg-interval = 輪詢間隔
cli-arg-profile = 使用此設定檔，而非自動偵測
cli-arg-site = 只限此場地
cli-cmd-completions = 輸出指定 shell（bash、zsh、fish、elvish、powershell）的自動補全腳本。
cli-cmd-man = 輸出說明手冊頁（roff）；加 --dir 則每個指令各寫一頁到該目錄。
cli-arg-no-secrets = 檢查全部設定但不讀取任何密鑰：env:/file: 參照只檢查格式
cli-arg-shell = Shell，例如 bash
cli-arg-dir = 將 kilowatch.1 及 kilowatch-指令.1 寫入此目錄
