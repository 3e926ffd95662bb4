# Terminal UI texts (Project Fluent syntax). Every key is also in the other language.
# 終端介面文字。欄標題與數值同在一欄，請保持簡短（一個中文字佔兩個終端欄位；欄寬會按標題加闊）。

## 畫面（分頁）
tui-screen-overview = 概覽
tui-screen-site = 場地
tui-screen-rack = 機櫃
tui-screen-devices = 設備
tui-screen-alarms = 警報
tui-screen-trends = 趨勢
tui-screen-fleet = 收集器群

## 狀態列
tui-hint-normal = Tab 切換畫面 · Enter 深入 · Esc 返回 · / 篩選 · s 排序 · ? 說明 · q 離開
tui-hint-filter = 篩選：{ $filter }▏（Enter/Esc 完成）

## 概覽
tui-overview-title = 場地（PUE 以能源計算）
tui-col-site = 場地
tui-col-pue-hour = PUE 1小時
tui-col-pue-today = PUE 今日
tui-col-facility-kw = 設施 kW
tui-col-it-kw = IT kW
tui-col-cooling-kw = 冷卻 kW
tui-col-ups-pct = UPS %
tui-col-alarms = 警報
tui-col-up = 在線

## 概覽：所選場地的面板
tui-chain-title = 供電鏈（{ $site }），現時 kW · 到 UPS 前的差額 = 冷卻、照明、其他；其後 = 損耗
tui-col-step = 環節
tui-col-kw = kW
tui-col-loss-kw = 差額 kW
tui-chain-facility = 設施電錶
tui-chain-ups-in = UPS 輸入
tui-chain-ups-out = UPS 輸出
tui-chain-pdu = PDU（總和）
tui-chain-it = IT 設備
tui-ups-title = UPS
tui-ups-none = 清單中沒有 UPS
tui-ups-on-battery = { $device } 電池供電中
tui-col-ups = UPS
tui-col-runtime-min = 分鐘
tui-col-battery-pct = 電池 %
tui-col-load-pct = 負載 %
tui-spark-title = 過去 24 小時
tui-spark-pue = { $category } 每小時，24 小時：{ $range }
tui-spark-kw = 設施 kW，24 小時：{ $range }
tui-spark-short = { $what } 24 小時：{ $last }（{ $min }–{ $max }）
tui-spark-range = 最低 { $min } · 最高 { $max } · 最新 { $last }
tui-top-alarms-title = 主要警報：{ $shown } / { $count }
tui-top-alarms-none = 沒有警報
tui-inlets-title = 最熱進風（上限 { $limit } °C）
tui-col-rack = 機櫃
tui-col-inlet-c = °C
tui-col-vs-limit = 對上限

## 場地
tui-site-heading = { $name } — 機櫃按{ $by }著色（按 c 切換）
tui-site-by-power = 功率對預算
tui-site-by-inlet = 進風溫度
tui-site-room = 機房 { $room }
tui-legend-power-ok = 低於預算 { $warn } %
tui-legend-power-warn = { $warn }–{ $limit } %
tui-legend-power-bad = { $limit } % 或以上
tui-legend-inlet-ok = 低於 { $warn } °C
tui-legend-inlet-warn = { $warn }–{ $limit } °C
tui-legend-inlet-bad = { $limit } °C 或以上

## 機櫃
tui-rack-none = 未選擇機櫃：請在「場地」畫面選取機櫃後按 Enter
tui-rack-title = 機櫃 { $rack } — { $power } W（預算 { $budget } W），進風 { $inlet } °C
tui-rack-total = 總計
tui-rack-servers = 伺服器
tui-col-pdu = PDU
tui-col-point = 量度點
tui-col-power = 功率
tui-col-current = 電流
tui-col-of-breaker = 佔斷路器
tui-col-server = 伺服器
tui-col-cpu = CPU

## 設備
tui-devices-title = 設備：顯示 { $count } 部，按{ $sort }排序
tui-devices-title-filtered = 設備：顯示 { $count } 部，按{ $sort }排序，篩選「{ $filter }」
tui-sort-id = 編號
tui-sort-state = 狀態
tui-sort-poll = 輪詢時間
tui-sort-age = 距今時間
tui-state-up = 在線
tui-state-down = 離線
tui-col-device = 設備
tui-col-state = 狀態
tui-col-poll = 輪詢
tui-col-age = 距今
tui-col-last-error = 最近錯誤
tui-dev-down-reported = 離線（由收集器報告）
tui-dev-not-polled = 尚未輪詢

## 警報
tui-rule-alerts-title = 規則警報：{ $firing } 個觸發中，{ $pending } 個待定
tui-alert-acked = 已確認 { $by }
tui-alert-firing = 觸發中
tui-alert-pending = 待定
tui-col-severity = 嚴重程度
tui-col-alert = 警報
tui-col-where = 位置
tui-col-value = 數值
tui-col-since = 開始
tui-no-data = 沒有數據
tui-alarms-selected = 已選 · 按 a 確認
tui-alarms-evidence = 證據：{ $link }
tui-alarms-none = 沒有待定或觸發中的規則警報
tui-alarms-title = 警報：{ $count } 個生效中
tui-col-subject = 對象
tui-col-alarm = 警報
tui-traps-title = Trap：最近 { $count } 個
tui-col-when = 時間
tui-col-from = 來源
tui-col-trap = Trap
tui-col-summary = 摘要
# 多久之前：分鐘及秒。
tui-ago = { $min }分{ $sec }秒前
tui-alarm-stale = 數據過時：已三個輪詢週期未有輪詢
tui-alarm-down = 離線：{ $error }
tui-alarm-ups-load = 負載 { $load } %，高於 80 %
tui-alarm-breaker = { $amps } A，超過 { $breaker } A 斷路器的 80 %
tui-alarm-rack = 機櫃 { $rack }
tui-alarm-inlet = 進風 { $inlet } °C，高於 ASHRAE 建議上限 27 °C

## 趨勢
tui-trend-pue = { $category } 每小時，過去 7 日（{ $site }；時間為 { $zone }）
tui-trend-kw = 設施 kW，15 分鐘平均，過去 7 日
tui-chart-empty = 暫無數據

## 收集器群
tui-fleet-title = 收集器：{ $count } 個（{ $silent } 個失聯）· 此數據源中的心跳
tui-fleet-ok = 正常
tui-fleet-degraded = 降級
tui-fleet-behind = 落後
tui-fleet-silent = 失聯
tui-col-collector = 收集器
tui-col-sites = 場地
tui-col-heartbeat = 心跳
tui-col-devices = 設備
tui-col-outbox = 待發送
tui-col-oldest = 最舊 s
tui-col-why = 原因

## 說明視窗：按鍵及其作用
tui-help-title = 按鍵（按任意鍵關閉）
tui-key-screens = Tab / Shift-Tab
tui-help-screens = 下一個／上一個畫面
tui-key-move = ↑↓←→ 或 h j k l
tui-help-move = 移動
tui-key-enter = Enter
tui-help-enter = 深入（場地 → 機櫃）
tui-key-back = Esc
tui-help-back = 返回／關閉
tui-key-filter = /
tui-help-filter = 篩選設備
tui-key-sort = s
tui-help-sort = 排序設備（下一欄）
tui-key-colour = c
tui-help-colour = 按功率或進風溫度為機櫃著色
tui-key-ack = a
tui-help-ack = 確認所選警報（警報畫面）
tui-key-help = ?
tui-help-help = 本說明
tui-key-quit = q
tui-help-quit = 離開
