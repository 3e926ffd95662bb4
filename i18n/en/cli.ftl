# --help texts (Project Fluent syntax). Every key is also in i18n/zh-HK/cli.ftl. English --help
# uses the commands' own doc comments; these English values keep the two catalogues parallel.

cli-about = Data-centre telemetry and energy efficiency: polls meters, UPSs, PDUs, cooling, sensors and servers over SNMP and Modbus, stores the readings and works out PUE.
cli-heading-usage = Usage:
cli-heading-options = Options
cli-heading-commands = Commands

## Commands
cli-cmd-demo = Simulated site, collector and embedded store in one process, with nothing installed.
cli-cmd-sim = Serve a simulated data centre (SNMP agents and Modbus servers) on loopback.
cli-cmd-collect = Poll the inventory into the embedded store until interrupted.
cli-cmd-probe = Read one device once and print its metrics.
cli-cmd-discover = Find the SNMP devices in address ranges, detect the profiles each speaks, and write a draft inventory.
cli-cmd-store = Look after the embedded store: store stats|compact|export --data DIR.
cli-cmd-store-stats = Samples and bytes per tier of the embedded store.
cli-cmd-store-compact = Compact the embedded store now.
cli-cmd-store-export = Readings as CSV.
cli-cmd-report = Reports for planners and regulators.
cli-cmd-report-pue = PUE per site and measured category, with coverage, uncertainty, pPUE, CUE, CO2 and cost.
cli-cmd-report-capacity = Rack power vs budget, PDU breakers, UPS N/N+1, cooling load, stranded capacity, inlet compliance and RCI.
cli-cmd-report-consolidation = Server profiles, comatose servers, hosts needed per site, savings, ranked site moves and verification.
cli-cmd-report-annual = The EU data-centre data set of a year per site, each field measured, entered or missing, with PUE, WUE, ERF, REF, CUE, CER and ITEUsv.
cli-cmd-tui = The terminal UI on stored data: overview, site, rack, devices, alarms, trends.
cli-cmd-import = Import history (a CSV of meter readings) into the embedded store, all or nothing.
cli-cmd-pue = Compute PUE and energy per metering point over a window from stored data.
cli-cmd-publish = Write the analyzer's figures to InfluxDB for the Grafana dashboards.
cli-cmd-fleet = The estate's collectors from their heartbeats: silent, behind, devices down.
cli-cmd-check-config = Validate a config file: exit 0, or exit 2 listing every problem with file, line and key.

## Arguments shared by many commands
cli-arg-help = Print help
cli-arg-version = Print version
cli-arg-config = The inventory file (TOML)
cli-arg-data = Data directory of the embedded store (default: the inventory's [store] path)
cli-arg-source = Read from this source instead of the embedded store (a central engine URL)
cli-arg-influx = InfluxDB or VictoriaMetrics URL
cli-arg-from = Window start: an RFC 3339 time, a date (the site's local midnight), or a duration before --to
cli-arg-to = Window end: an RFC 3339 time, a date (its local midnight, not included), or "now"
cli-arg-year = A calendar year in each site's zone, e.g. 2025
cli-arg-month = A calendar month in each site's zone, e.g. 2025-06
cli-arg-format = Output format
cli-arg-lang = Language: en or zh-HK (Traditional Chinese)
cli-arg-out = Write here instead of stdout
cli-arg-max-gap = Power samples further apart than this are not bridged when integrating
cli-arg-json = Print JSON for machines
cli-arg-speed = Run this many times faster than real time
cli-arg-speed-epoch = With --speed: the instant at which simulated and real time agree
cli-arg-sim-start = With --speed-epoch: the simulated time at that instant
cli-arg-timeout = How long to wait for a device
cli-arg-file = The inventory file (TOML)
cli-arg-headless = Print one JSON line per cycle instead of the terminal UI
cli-arg-duration = Stop after this long
cli-arg-inventory = Write a collector inventory for the simulated devices here
cli-arg-interval = Poll interval
cli-arg-profile = Use this profile instead of detecting one
cli-arg-site = Only this site
cli-cmd-completions = Print a completion script for a shell (bash, zsh, fish, elvish, powershell).
cli-cmd-man = Print the man page (roff), or with --dir write one page per command there.
cli-arg-no-secrets = Check everything but read no secret: env:/file: references are checked for their form only
cli-arg-shell = The shell, e.g. bash
cli-arg-dir = Write kilowatch.1 and kilowatch-COMMAND.1 pages into this directory
