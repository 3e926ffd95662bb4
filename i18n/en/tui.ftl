# Terminal UI texts (Project Fluent syntax). Every key is also in the other language.
# Column headers and short states share a table column with values: keep them short (a Chinese
# character takes two terminal columns; a column is widened to fit its header).

## Screens (the tabs)
tui-screen-overview = Overview
tui-screen-site = Site
tui-screen-rack = Rack
tui-screen-devices = Devices
tui-screen-alarms = Alarms
tui-screen-trends = Trends
tui-screen-fleet = Fleet

## Status line
tui-hint-normal = Tab screens · Enter drill down · Esc back · / filter · s sort · ? help · q quit
tui-hint-filter = filter: { $filter }▏ (Enter/Esc done)

## Overview
tui-overview-title = Sites (PUE is energy-based)
tui-col-site = site
tui-col-pue-hour = PUE 1h
tui-col-pue-today = PUE today
tui-col-facility-kw = facility kW
tui-col-it-kw = IT kW
tui-col-cooling-kw = cooling kW
tui-col-ups-pct = UPS %
tui-col-alarms = alarms
tui-col-up = up

## Overview: the selected site's panels
tui-chain-title = Power chain ({ $site }), kW now · drop to UPS = cooling, lighting, other; after = losses
tui-col-step = step
tui-col-kw = kW
tui-col-loss-kw = drop kW
tui-chain-facility = facility meter
tui-chain-ups-in = UPS input
tui-chain-ups-out = UPS output
tui-chain-pdu = PDUs (sum)
tui-chain-it = IT equipment
tui-ups-title = UPS
tui-ups-none = no UPS in the inventory
tui-ups-on-battery = { $device } ON BATTERY
tui-col-ups = UPS
tui-col-runtime-min = min
tui-col-battery-pct = batt %
tui-col-load-pct = load %
tui-spark-title = Last 24 hours
tui-spark-pue = { $category } hourly, 24 h: { $range }
tui-spark-kw = facility kW, 24 h: { $range }
tui-spark-short = { $what } 24 h: { $last } ({ $min }–{ $max })
tui-spark-range = min { $min } · max { $max } · last { $last }
tui-top-alarms-title = Top alarms: { $shown } of { $count }
tui-top-alarms-none = no alarms
tui-inlets-title = Hottest inlets (limit { $limit } °C)
tui-col-rack = rack
tui-col-inlet-c = °C
tui-col-vs-limit = vs limit

## Site
tui-site-heading = { $name } — racks coloured by { $by } (c to switch)
tui-site-by-power = power vs budget
tui-site-by-inlet = inlet temperature
tui-site-room = room { $room }
tui-legend-power-ok = under { $warn } % of budget
tui-legend-power-warn = { $warn }–{ $limit } %
tui-legend-power-bad = { $limit } % or more
tui-legend-inlet-ok = below { $warn } °C
tui-legend-inlet-warn = { $warn }–{ $limit } °C
tui-legend-inlet-bad = { $limit } °C or more

## Rack
tui-rack-none = no rack selected: Enter on a rack in the Site screen
tui-rack-title = Rack { $rack } — { $power } W of { $budget } W budget, inlet { $inlet } °C
tui-rack-total = total
tui-rack-servers = Servers
tui-col-pdu = PDU
tui-col-point = point
tui-col-power = power
tui-col-current = current
tui-col-of-breaker = of breaker
tui-col-server = server
tui-col-cpu = CPU

## Devices
tui-devices-title = Devices: { $count } shown, sorted by { $sort }
tui-devices-title-filtered = Devices: { $count } shown, sorted by { $sort }, filter '{ $filter }'
tui-sort-id = id
tui-sort-state = state
tui-sort-poll = poll time
tui-sort-age = age
tui-state-up = up
tui-state-down = DOWN
tui-col-device = device
tui-col-state = state
tui-col-poll = poll
tui-col-age = age
tui-col-last-error = last error
tui-dev-down-reported = down (reported by the collector)
tui-dev-not-polled = not polled yet

## Alarms
tui-rule-alerts-title = Rule alerts: { $firing } firing, { $pending } pending
tui-alert-acked = ack { $by }
tui-alert-firing = FIRING
tui-alert-pending = pending
tui-col-severity = severity
tui-col-alert = alert
tui-col-where = where
tui-col-value = value
tui-col-since = since
tui-no-data = no data
tui-alarms-selected = Selected · a acknowledges
tui-alarms-evidence = evidence: { $link }
tui-alarms-none = no rule alerts pending or firing
tui-alarms-title = Alarms: { $count } active
tui-col-subject = subject
tui-col-alarm = alarm
tui-traps-title = Traps: last { $count }
tui-col-when = when
tui-col-from = from
tui-col-trap = trap
tui-col-summary = summary
# How long ago: minutes and seconds.
tui-ago = { $min }m{ $sec }s ago
tui-alarm-stale = stale: no poll for three intervals
tui-alarm-down = down: { $error }
tui-alarm-ups-load = load { $load } % above 80 %
tui-alarm-breaker = { $amps } A is over 80 % of the { $breaker } A breaker
tui-alarm-rack = rack { $rack }
tui-alarm-inlet = inlet { $inlet } °C above the ASHRAE recommended 27 °C

## Trends
tui-trend-pue = { $category } hourly, last 7 days ({ $site }; times in { $zone })
tui-trend-kw = facility kW, 15-minute means, last 7 days
tui-chart-empty = no data yet

## Fleet
tui-fleet-title = Collectors: { $count } ({ $silent } silent) · heartbeats in this source
tui-fleet-ok = ok
tui-fleet-degraded = degraded
tui-fleet-behind = behind
tui-fleet-silent = SILENT
tui-col-collector = collector
tui-col-sites = sites
tui-col-heartbeat = heartbeat
tui-col-devices = devices
tui-col-outbox = outbox
tui-col-oldest = oldest s
tui-col-why = why

## Help overlay: the keys, and what they do
tui-help-title = Keys (any key closes)
tui-key-screens = Tab / Shift-Tab
tui-help-screens = next / previous screen
tui-key-move = ↑↓←→ or h j k l
tui-help-move = move
tui-key-enter = Enter
tui-help-enter = drill down (site → rack)
tui-key-back = Esc
tui-help-back = back / close
tui-key-filter = /
tui-help-filter = filter devices
tui-key-sort = s
tui-help-sort = sort devices (next column)
tui-key-colour = c
tui-help-colour = colour racks by power or inlet temperature
tui-key-ack = a
tui-help-ack = acknowledge the selected alert (Alarms)
tui-key-help = ?
tui-help-help = this help
tui-key-quit = q
tui-help-quit = quit
