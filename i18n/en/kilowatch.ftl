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
caption-it-before-after = IT power by site, kW: now (grey) and after consolidation (green)
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
