# Kilowatch messages, English (Project Fluent syntax: https://projectfluent.org/).
# Every key here must also be in i18n/zh-HK/kilowatch.ftl (a test checks both ways).

## Shared
made-by = Made by Kilowatch. Measured values come from the site's meters; entered values from its inventory.
no-data = no data
window = Window: { $from } to { $to }
site-window = { $from } to { $to } ({ $zone })
heading-contents = Contents
heading-notes = Notes
col-site = Site
col-label = Label
col-value = Value
col-source = Source
col-note = Note
col-month = Month
col-ref = Ref.
col-field = Field
col-indicator = Indicator
source-measured = measured
source-entered = entered
source-calculated = calculated
source-missing = missing

## PUE report
report-pue-title = PUE report
col-pue = PUE
col-interval = 95 % interval
col-dcie = DCiE
col-edc-kwh = E_DC kWh
col-eit-kwh = E_IT kWh
col-coverage = Coverage
col-co2-kg = CO₂ kg
col-cost-hkd = Cost HKD
caption-daily-pue = Daily PUE
caption-breakdown = Energy breakdown
caption-monthly-energy = Monthly facility energy

## Consolidation report
report-consolidation-title = Consolidation report
caption-it-before-after = IT power by site, kW: now and after consolidation
caption-savings-by-site = Facility energy saved by site, MWh a year
caption-servers-by-cpu = Servers by CPU p{ $p } (%)
caption-servers-by-mem = Servers by memory p99 (%)
heading-plan = The plan in full

## Annual report (EU data set)
report-annual-title = Annual data-centre report { $year }
report-annual-basis = Data set of { $regulation }. Each field is measured by the site's meters, entered in the inventory, calculated from other fields, or missing: nothing is estimated silently.
heading-indicators = Indicators
heading-dataset = EU data set, in the regulation's order
class-line = { $indicator } class { $class } ({ $basis })
indicator-wue-fresh = WUE, freshwater
indicator-cue = CUE, carbon usage effectiveness
indicator-cer = CER, cooling efficiency ratio
indicator-iteusv = ITEUsv, server utilisation
indicator-ere = ERE, energy reuse effectiveness (The Green Grid; not ISO)
indicator-generator-fuel-l = Standby generator fuel burnt

## Data set fields (labels as the regulation prints them, shortened)
field-reporting-period = Reporting period (calendar year immediately preceding the reporting year)
field-data-centre-name = Data centre name
field-owner = Owner of the data centre (name and contact details)
field-operator = Operator of the data centre (name and contact details)
field-location-lau-code = Location of the data centre (Local Administrative Unit code, LAU code)
field-data-centre-type = Type of data centre (enterprise, colocation or co-hosting)
field-data-centre-structure = Structure or group of structures
field-also-offers-other-type = Colocation also offering co-hosting, or co-hosting also offering colocation
field-entry-into-operation = Year and month of entry into operation
field-electrical-redundancy-high-voltage = Electrical infrastructure redundancy level at high voltage level
field-electrical-redundancy-low-voltage = Electrical infrastructure redundancy level at low voltage level (line-up)
field-electrical-redundancy-rack = Electrical infrastructure redundancy level at rack level
field-cooling-redundancy-room = Cooling infrastructure redundancy level at room level
field-cooling-redundancy-rack = Cooling infrastructure redundancy level at rack level
field-installed-it-power-demand = Installed information technology power demand
field-it-power-demand-metric = Metric used for PDIT (installed or rated IT power demand)
field-total-floor-area = Data centre total floor area
field-computer-room-floor-area = Data centre computer room floor area
field-total-energy-consumption = Total energy consumption
field-backup-generator-energy = Total energy consumption from back-up generators
field-it-energy-consumption = Total energy consumption of information technology equipment
field-electrical-grid-functions = Electrical grid functions
field-average-battery-capacity-to-grid = Average battery capacity offered to the grid
field-total-water-input = Total water input
field-wue-category = WUE category used for WIN (EN 50600-4-9 category 1 or 2)
field-potable-water-input = Total potable water input
field-waste-heat-reused = Waste heat reused
field-average-waste-heat-temperature = Average waste heat temperature
field-average-it-intake-air-setpoint = Average setpoint information technology equipment intake air temperature
field-refrigerant-types = Types of refrigerants (computer room cooling and air conditioning equipment)
field-cooling-degree-days = Cooling degree days
field-renewable-energy-total = Total renewable energy consumption
field-renewable-energy-goo = Total renewable energy consumption from Guarantees of Origin
field-renewable-energy-ppa = Total renewable energy consumption from Power Purchasing Agreements
field-renewable-energy-onsite = Total renewable energy consumption from on-site renewables
field-ict-capacity-servers = ICT capacity for servers (SERT active state performance)
field-ict-capacity-servers-coverage = Share of computer room floor area covered by CSERV
field-ict-capacity-storage = ICT capacity for storage equipment
field-ict-capacity-storage-coverage = Share of computer room floor area covered by CSTOR
field-incoming-traffic-bandwidth = Incoming traffic bandwidth (provisioned, averaged over the year)
field-outgoing-traffic-bandwidth = Outgoing traffic bandwidth (provisioned, averaged over the year)
field-incoming-data-traffic = Incoming data traffic
field-outgoing-data-traffic = Outgoing data traffic
field-pue = Power Usage Effectiveness
field-wue = Water Usage Effectiveness
field-erf = Energy Reuse Factor
field-ref = Renewable Energy Factor

## Markdown reports: shared words and table columns
word-yes = yes
word-no = no
word-true = true
word-false = false
th-site = site
th-device = device
th-room = room
th-rack = rack
th-max = max
th-pue-used = PUE used
th-saving-kwh-yr = saving kWh/yr
th-hkd-yr = HKD/yr
th-tco2e-yr = t CO2e/yr
chart-day = day
chart-it = IT
chart-unmetered = unmetered
th-it-kw = IT kW
chart-mwh-yr = MWh/yr
chart-servers = servers

## PUE report, Markdown
pue-th-coverage = coverage
pue-ppue = pPUE { $name }: { $value }
pue-unmetered = unmetered overhead: { $kwh } kWh ({ $pue } of PUE)
pue-co2 = CO2: { $co2 } kg at { $factor } kg/kWh; CUE { $cue } kg/kWh_IT
pue-co2-none = CO2 and CUE: no emission factor set for this site
pue-cost = energy cost: HKD { $cost } at HKD { $tariff }/kWh
pue-cost-none = cost: no tariff set for this site
pue-uncertainty = uncertainty: { $basis }
pue-site-window = window: { $from } to { $to } ({ $zone })
pue-estimated = estimated energy: E_DC { $edc } kWh, E_IT { $eit } kWh (intervals a meter reset or spike hid, from the neighbouring rates)
pue-events-none = meter data: no glitches, spikes, resets, wraps, stuck readings or gaps
pue-event = { $kind } on { $device }: { $count } ({ $meaning }); first { $first }, last { $last }; { $kwh } kWh affected
pue-event-glitch = a reading off the trend and back: dropped, neighbours bridged
pue-event-spike = a step above rating or trend that stayed: rejected, interval estimated
pue-event-reset = the counter went back, a reset or meter swap: interval estimated
pue-event-wrap = the counter passed its modulus: bridged
pue-event-gap = readings further apart than the meter's cadence
pue-event-stuck = a reading repeated while the meter counts
pue-chart-alt = daily PUE

## Consolidation report, Markdown
cons-window = Window { $from } to { $to }.
cons-heading-assumptions = Assumptions
cons-assume-sizing = CPU sized on p{ $p } of `cpu_util_pct`, memory on p{ $mem } of `mem_util_pct` (where stored), each as a share of the server it runs on; CPU % stands in for throughput (turbo and SMT make them diverge).
cons-assume-headroom = Hosts used to at most { $pct } % of CPU and memory; N+1 spare host: { $spare }.
cons-assume-target = Target hosts: { $hosts }.
cons-target-own = servers like the site's own (one server = one host of capacity)
cons-target-new = a new model of { $cpu }× CPU and { $mem }× memory of a current server, { $idle }–{ $max } W, { $u } U
cons-assume-racks = Hosts racked within each rack's `power_budget_w` (at their sized demand) and `space_u` (default { $space } U); servers { $height } U unless `height_u` says otherwise.
cons-assume-comatose = Comatose: CPU p95 ≤ { $p95 } % and p99 ≤ { $p99 } % and network < { $net } B/s, confirmed over ≥ { $days } days; switched off in the plan.
cons-assume-no-power = Servers without power readings: typical SPECpower-like curve (idle 20 %, 10 % load 33 %, 50 % load 54 % of full power; consolidation.md §1.1) at `rated_power_w` or { $watts } W.
cons-assume-facility = Facility energy through each site's measured average PUE of its most downstream measured category (a marginal PUE would be lower for a site that stays open); 8,760 h/yr; tariff and emission factor per site from the inventory.
cons-assume-moves = Site moves: target power headroom from rack budgets, cooling from rated cooling capacity (taken as equal to power headroom when not rated), space from rack heights.
cons-heading-idle = Idle servers
cons-th-reason = reason
cons-th-kwh-yr-it = kWh/yr (IT)
cons-th-kwh-yr-facility = kWh/yr (facility)
cons-th-confirmed = confirmed
cons-heading-sites = Sites
cons-th-hosts-before = hosts before
cons-th-idle-off = idle off
cons-th-hosts-after = after
cons-th-lower-bound = lower bound
cons-th-it-kw-before = IT kW before
cons-th-it-kw-after = after
cons-per-site = Per-site figures the savings use:
cons-th-category = category
cons-th-tariff = tariff HKD/kWh
cons-th-emission-factor = emission factor kg/kWh
cons-site-power = Power after: { $model }. Packing: { $method }.
cons-stays = { $device } stays as it is: { $why }
cons-th-hosts = hosts
cons-th-w-sized = W at sized load
cons-th-w-budget = W budget
cons-th-u-used = U used
cons-heading-sensitivity = Sensitivity: hosts needed by headroom left
cons-heading-servers = Servers
cons-th-mem-p99 = mem % p99
cons-th-net = net B/s
cons-th-mean-w = mean W
cons-th-power = power
cons-th-own-model = own model (W = a + b·CPU%, R², RMS W)
cons-heading-site-figures = Site figures for moves
cons-th-power-headroom-kw = power headroom kW
cons-th-cooling-headroom-kw = cooling headroom kW
cons-th-space-used-u = space used U
cons-th-space-headroom-u = space headroom U
cons-heading-moves = Site moves (feasible first; saving = IT kW × (PUE from − PUE to) × 8,760 h; CO2e at each site's own grid factor, the moved load at the target's)
cons-th-rank = rank
cons-th-from = from
cons-th-to = to
cons-th-feasible = feasible
cons-th-binding = binding constraint
cons-heading-verification = Verification against the baseline
cons-th-ver-facility-before = facility kW before
cons-th-ver-facility-after = after
cons-th-ver-it-before = IT kW before
cons-th-ver-it-after = after
cons-th-ver-pue-before = PUE before
cons-th-ver-pue-after = after
cons-th-measured-saving = measured saving kWh/yr
cons-th-predicted = predicted
cons-th-realised = realised %

## Capacity report
report-capacity-title = Capacity report
caption-rack-power = Rack power, W: budget and p95 of 5-minute means
cap-intro = Window: { $from } to { $to }. Loads are 5-minute means; the limit for continuous load is 80 %.
cap-heading-racks = Racks
cap-th-budget-w = budget W
cap-th-peak-w = peak W
cap-th-use-pct = use %
cap-th-headroom-w = headroom W
cap-heading-breakers = PDU breakers
cap-th-point = point
cap-th-peak-a = peak A
cap-th-breaker-a = breaker A
cap-th-load-pct = load %
cap-th-imbalance = device imbalance %
cap-heading-ups = UPS
cap-th-units = units
cap-th-ups-peak = peak load (% of one unit)
cap-th-fits-n = fits N
cap-th-fits-n1 = fits N−1 (N+1)
cap-heading-cooling = Cooling
cap-th-peak-heat-w = peak heat W
cap-th-rated-w = rated W
cap-th-mean-dt = mean ΔT °C
cap-heading-rooms = Rooms
cap-th-power-headroom-w = power headroom W
cap-th-cooling-headroom-w = cooling headroom W
cap-th-stranded-w = stranded W
cap-th-stranded = stranded
cap-th-rci-hi = RCI_HI min/mean %
cap-th-rci-lo = RCI_LO min/mean %
cap-th-intakes = intakes
cap-stranded-power = power (cooling runs out first)
cap-stranded-cooling = cooling (power runs out first)
cap-heading-inlets = Inlet temperatures (ASHRAE: recommended 18–27 °C)
cap-th-sensor = sensor
cap-th-samples = samples
cap-th-recommended = recommended %
cap-th-below = below %
cap-th-above = above %
cap-th-worst-high = worst high °C
cap-no-inlets = No data: no rack-inlet temperature was read in this window.
cap-unplaced = { cap-no-inlets } { $count } temperature series do not say where they are measured (`temperature_c`); set `temperature_at = "inlet"` on the devices whose probes hang at rack inlets.

## Reports as documents (issue 23): headers, charts, no data
heading-summary = Summary
zones = Time zones: { $list }
word-and = { " " }and{ " " }
chart-no-trend = a daily trend needs at least two days with a PUE; this window has { $days }
chart-no-months = a monthly chart needs at least two months with readings; this window has { $months }
chart-no-values = no data to draw: nothing was read in this window
chart-date-zone = date ({ $zone })
chart-kwh = kWh
chart-w = W
pue-heading-monthly = Months
pue-no-data-it = no data: no IT meter (`role = "it"`) has readings in the window; a draft from `discover` has no roles yet
pue-no-data-facility = no data: the IT meters read, but no facility meter (`role = "facility"`) has readings in the window
cap-legend-budget = budget
cap-legend-p95 = p95 of 5-minute means
cap-inlets-without-data = No data: { $count } inlet sensors have no reading in this window.
cons-th-note = note
cons-no-data-plan = no data: no server of the site has CPU readings (`cpu_util_pct`) in the window
cons-no-data-moves = no data: no measured IT power and PUE in the window
cons-legend-now = now
cons-legend-after = after consolidation
cons-negative = a net cost: { $costs } outweighs { $savings }
cons-part-spare = the N+1 spare host ({ $kwh } kWh/yr)
cons-part-packing = packing onto fewer hosts ({ $kwh } kWh/yr)
cons-part-packing-cost = the packed hosts drawing more than the servers they replace ({ $kwh } kWh/yr)
cons-part-idle = switching off { $count } idle servers ({ $kwh } kWh/yr)
cons-nothing-saved = no saving
