# Kilowatch 訊息，繁體中文（香港）（Project Fluent 語法：https://projectfluent.org/）。
# 此處每個鍵亦必須存在於 i18n/en/kilowatch.ftl（有測試作雙向檢查）。

## 共用
made-by = 由Kilowatch製作。實測值來自場地的電錶；輸入值來自場地的設備清單。
no-data = 沒有數據
window = 期間：{ $from } 至 { $to }
site-window = { $from } 至 { $to }（{ $zone }）
heading-contents = 目錄
heading-notes = 附註
col-site = 場地
col-label = 標籤
col-value = 數值
col-source = 來源
col-note = 備註
col-month = 月份
col-ref = 參考
col-field = 項目
col-indicator = 指標
source-measured = 實測
source-entered = 輸入
source-calculated = 計算
source-missing = 缺失

## PUE報告
report-pue-title = 電源使用效率（PUE）報告
col-pue = PUE
col-interval = 95%置信區間
col-dcie = DCiE
col-edc-kwh = E_DC kWh
col-eit-kwh = E_IT kWh
col-coverage = 覆蓋率
col-co2-kg = CO₂ kg
col-cost-hkd = 費用 HKD
caption-daily-pue = 每日PUE
caption-breakdown = 能源用量分項
caption-monthly-energy = 每月設施能源用量

## 整合報告
report-consolidation-title = 整合報告
caption-it-before-after = 各場地的資訊科技電力（kW）：現時（灰色）及整合後（綠色）
caption-savings-by-site = 各場地每年節省的設施能源（MWh）
caption-servers-by-cpu = 按CPU p{ $p }（%）劃分的伺服器
caption-servers-by-mem = 按記憶體p99（%）劃分的伺服器
heading-plan = 完整計劃

## 年度報告（歐盟數據集）
report-annual-title = { $year }年數據中心年度報告
report-annual-basis = 依據{ $regulation }的數據集。每個項目均由場地的電錶量度、在設備清單中輸入、由其他項目計算得出，或列為缺失：不會在未有說明的情況下估算任何數值。
heading-indicators = 指標
heading-dataset = 歐盟數據集（按規例所列次序）
class-line = { $indicator }級別：{ $class }（{ $basis }）
indicator-wue-fresh = WUE（淡水）
indicator-cue = CUE，碳使用效率
indicator-cer = CER，冷卻效率比
indicator-iteusv = ITEUsv，伺服器使用率
indicator-ere = ERE，能源再用效率（The Green Grid；非ISO標準）

## 數據集項目（按規例所印的標籤，經縮短）
field-reporting-period = 報告期（緊接報告年度之前的曆年）
field-data-centre-name = 數據中心名稱
field-owner = 數據中心擁有人（名稱及聯絡資料）
field-operator = 數據中心營運者（名稱及聯絡資料）
field-location-lau-code = 數據中心位置（地方行政單位代碼，LAU代碼）
field-data-centre-type = 數據中心類型（企業、主機託管或共用託管）
field-data-centre-structure = 單一建築物或建築物群組
field-also-offers-other-type = 兼提供共用託管的主機託管，或兼提供主機託管的共用託管
field-entry-into-operation = 投入運作的年份及月份
field-electrical-redundancy-high-voltage = 高壓層面的電力基礎設施冗餘水平
field-electrical-redundancy-low-voltage = 低壓層面（配電列）的電力基礎設施冗餘水平
field-electrical-redundancy-rack = 機櫃層面的電力基礎設施冗餘水平
field-cooling-redundancy-room = 機房層面的冷卻基礎設施冗餘水平
field-cooling-redundancy-rack = 機櫃層面的冷卻基礎設施冗餘水平
field-installed-it-power-demand = 已安裝資訊科技電力需求
field-it-power-demand-metric = PDIT所用的度量（已安裝或額定資訊科技電力需求）
field-total-floor-area = 數據中心總樓面面積
field-computer-room-floor-area = 數據中心電腦機房樓面面積
field-total-energy-consumption = 能源消耗總量
field-backup-generator-energy = 後備發電機的能源消耗總量
field-it-energy-consumption = 資訊科技設備的能源消耗總量
field-electrical-grid-functions = 電網功能
field-average-battery-capacity-to-grid = 向電網提供的平均電池容量
field-total-water-input = 總輸入水量
field-wue-category = WIN所用的WUE類別（EN 50600-4-9第1或第2類）
field-potable-water-input = 總輸入食水量
field-waste-heat-reused = 再用的廢熱
field-average-waste-heat-temperature = 廢熱平均溫度
field-average-it-intake-air-setpoint = 資訊科技設備進氣溫度的平均設定值
field-refrigerant-types = 製冷劑種類（電腦機房冷卻及空調設備）
field-cooling-degree-days = 冷卻度日
field-renewable-energy-total = 可再生能源消耗總量
field-renewable-energy-goo = 來自來源保證（GO）的可再生能源消耗總量
field-renewable-energy-ppa = 來自購電協議（PPA）的可再生能源消耗總量
field-renewable-energy-onsite = 來自現場可再生能源設施的可再生能源消耗總量
field-ict-capacity-servers = 伺服器的資訊及通訊科技容量（SERT活躍狀態效能）
field-ict-capacity-servers-coverage = CSERV涵蓋的電腦機房樓面面積比例
field-ict-capacity-storage = 儲存設備的資訊及通訊科技容量
field-ict-capacity-storage-coverage = CSTOR涵蓋的電腦機房樓面面積比例
field-incoming-traffic-bandwidth = 入站流量頻寬（已配置，全年平均）
field-outgoing-traffic-bandwidth = 出站流量頻寬（已配置，全年平均）
field-incoming-data-traffic = 入站數據流量
field-outgoing-data-traffic = 出站數據流量
field-pue = 電源使用效率（PUE）
field-wue = 用水效率（WUE）
field-erf = 能源再用系數（ERF）
field-ref = 可再生能源系數（REF）
