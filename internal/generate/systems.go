package generate

import "bulwark"

func grp(id string, need int) bulwark.Group { return bulwark.Group{ID: id, Need: need} }

// systemTemplates is ordered by layer; a system depends only on systems
// above it in this list (checked when the plan is built).
var systemTemplates = []sysT{
	// Layer 0: the electric grid.
	{id: "grid-ems", name: "Grid energy management system (EMS/SCADA)", desc: "Control center SCADA for substations and feeders", owner: "electric-utility", zone: "ot", layer: 0, rec: "ot", site: "north",
		used: []useT{usedSoft("electric-distribution")},
		slots: []slotT{
			slot("scada", "EMS server", 2, 0.2).grp("ems-servers", 1),
			slot("historian", "EMS historian", 1, 0).weak(),
			slot("eng-ws", "Operator console", 2, 0.6).weak(),
			slot("ind-switch", "Control center switch", 2, 0.1).grp("cc-switches", 1),
			slot("firewall", "EMS firewall", 1, 0),
		}},
	{id: "substation-harbor", name: "Harbor substation", desc: "115/13.8 kV substation feeding the port and downtown", owner: "electric-utility", zone: "field", layer: 0, rec: "power", site: "flats",
		deps: deps(soft("grid-ems")), used: []useT{usedIn("electric-distribution", "substations")},
		slots: substationSlots()},
	{id: "substation-north", name: "Northside substation", desc: "115/13.8 kV substation feeding Northside, Hillcrest and the airport", owner: "electric-utility", zone: "field", layer: 0, rec: "power", site: "north",
		deps: deps(soft("grid-ems")), used: []useT{usedIn("electric-distribution", "substations")},
		slots: substationSlots()},
	{id: "substation-south", name: "Southshore substation", desc: "115/13.8 kV substation feeding Southshore and the hospital", owner: "electric-utility", zone: "field", layer: 0, rec: "power", site: "south",
		deps: deps(soft("grid-ems")), used: []useT{usedIn("electric-distribution", "substations")},
		slots: substationSlots()},
	feeder("feeder-h1", "Feeder H1 (harbor pumping and terminal)", "substation-harbor", "flats"),
	feeder("feeder-h2", "Feeder H2 (waterfront and tide gates)", "substation-harbor", "harbor"),
	feeder("feeder-n1", "Feeder N1 (City Hall and data center)", "substation-north", "cityhall"),
	feeder("feeder-n2", "Feeder N2 (Northside and airport)", "substation-north", "airport"),
	feeder("feeder-s1", "Feeder S1 (Southshore and light rail)", "substation-south", "south"),
	feeder("feeder-s2", "Feeder S2 (hospital campus)", "substation-south", "hospital"),
	{id: "feeder-%03d", name: "Distribution feeder %d", desc: "13.8 kV distribution circuit", owner: "electric-utility", zone: "field", layer: 0, rec: "power", repeat: 1.5, pick: "substation",
		used:  []useT{usedSoft("electric-distribution")},
		slots: feederSlots()},

	// Layer 1: networks.
	{id: "telecom-core", name: "Telecom core network", desc: "Core routers, switching and peering of the regional carrier", owner: "telecom", zone: "it", layer: 1, rec: "net", site: "oldtown",
		deps: deps(inGroup("feeder-h1", "power"), inGroup("feeder-n1", "power")), groups: []bulwark.Group{grp("power", 1)},
		used: []useT{usedHard("telecom-backbone")},
		slots: []slotT{
			slot("router", "Core router", 2, 0.2).grp("core", 1),
			slot("firewall", "Peering firewall", 2, 0).grp("edge-fw", 1),
			slot("server", "OSS/BSS server", 2, 0.3).weak(),
			slot("ups", "Central office UPS", 2, 0).grp("ups", 1),
		}},
	{id: "metro-fiber", name: "Metro fiber ring", desc: "Fiber ring and aggregation switches across the city", owner: "telecom", zone: "field", layer: 1, rec: "net", site: "oldtown",
		deps: deps(hard("telecom-core")), used: []useT{usedHard("telecom-backbone")},
		slots: []slotT{
			slot("switch", "Aggregation switch", 4, 1).grpF("ring", 0.75).spread(),
		}},
	{id: "mobile-core", name: "Mobile core (EPC)", desc: "Packet core, subscriber database and priority service for the cellular network", owner: "telecom", zone: "it", layer: 1, rec: "net", site: "oldtown",
		deps: deps(hard("telecom-core")), used: []useT{usedHard("mobile-network")},
		slots: []slotT{
			slot("server", "Packet core node", 2, 0.2).grp("epc", 1),
			slot("router", "Mobile backhaul router", 2, 0.2).grp("backhaul", 1),
		}},
	{id: "cell-sites-harbor", name: "Cell sites, harbor district", desc: "Macro cell sites serving the port and downtown", owner: "telecom", zone: "field", layer: 1, rec: "radio", site: "harbor", feeder: "feeder-h2",
		deps: deps(hard("mobile-core"), soft("metro-fiber")), used: []useT{usedSoft("mobile-network")},
		slots: cellSlots()},
	{id: "cell-sites-north", name: "Cell sites, Northside", desc: "Macro cell sites serving Northside and the airport", owner: "telecom", zone: "field", layer: 1, rec: "radio", site: "north", feeder: "feeder-n2",
		deps: deps(hard("mobile-core"), soft("metro-fiber")), used: []useT{usedSoft("mobile-network")},
		slots: cellSlots()},
	{id: "cell-cluster-%03d", name: "Cell site cluster %d", desc: "Macro and small cells of one district", owner: "telecom", zone: "field", layer: 1, rec: "radio", repeat: 1,
		deps: deps(hard("mobile-core"), soft("metro-fiber")), used: []useT{usedSoft("mobile-network")},
		slots: cellSlots()},
	{id: "city-core-network", name: "City core network", desc: "Core and distribution switching for City Hall and the data center", owner: "city-it", zone: "it", layer: 1, rec: "net", site: "cityhall", feeder: "feeder-n1",
		deps: deps(soft("metro-fiber")), used: []useT{usedHard("city-it-services")},
		slots: []slotT{
			// One core switch: the city's best-known single point of failure.
			slot("core-switch", "Core switch", 1, 0).powered(),
			slot("switch", "Distribution switch", 4, 1.2).grpF("distribution", 0.5),
			slot("nac", "Network access control", 1, 0).weak(),
			slot("fw-manager", "Firewall manager", 1, 0).weak(),
		}},
	{id: "city-internet-edge", name: "Internet edge firewalls", desc: "Internet access, DMZ and site-to-site VPN for the city", owner: "city-it", zone: "dmz", layer: 1, exposed: true, rec: "net", site: "datacenter",
		deps: deps(hard("city-core-network"), hard("telecom-core")), used: []useT{usedHard("city-it-services")},
		slots: []slotT{
			slot("firewall", "Edge firewall", 2, 0).grp("firewalls", 1),
			slot("router", "Internet router", 2, 0).grp("isp", 1),
			slot("waf", "Web application firewall", 1, 0).weak(),
		}},
	{id: "city-datacenter", name: "City data center", desc: "Virtualization hosts, storage and power in the Hillcrest data center", owner: "city-it", zone: "it", layer: 1, rec: "it", site: "datacenter",
		deps: deps(hard("city-core-network"), hard("feeder-n1")),
		used: []useT{usedHard("city-it-services")},
		slots: []slotT{
			slot("hypervisor", "Virtualization host", 3, 1).grpF("hosts", 0.6),
			slot("vcenter", "vCenter", 1, 0).weak(),
			slot("nas", "Storage array", 2, 0.2).grp("storage", 1),
			slot("ups", "Data center UPS", 2, 0).grp("ups", 1),
			slot("dcim", "Data center infrastructure management", 1, 0).weak(),
			slot("bas", "CRAC controller", 2, 0.1).weak(),
		}},
	{id: "city-wan", name: "City WAN and branch sites", desc: "Routers and switches at libraries, yards, stations and community centers", owner: "city-it", zone: "field", layer: 1, rec: "net", site: "cityhall",
		deps: deps(hard("city-core-network"), hard("metro-fiber")), used: []useT{usedSoft("city-it-services")},
		slots: []slotT{
			slot("router", "Branch router", 3, 1.5).weak(),
			slot("switch", "Branch switch", 3, 1.5).weak(),
		}},
	{id: "branch-site-%03d", name: "Branch site network %d", desc: "Network of a library, yard or community center", owner: "city-it", zone: "field", layer: 1, rec: "net", repeat: 1.5,
		deps: deps(hard("city-wan")), used: []useT{usedSoft("city-it-services")},
		slots: []slotT{
			slot("router", "Site router", 1, 0),
			slot("switch", "Site switch", 1, 0.8).weak(),
			slot("workstation", "Staff workstation", 0, 2).weak(),
		}},
	{id: "water-ot-network", name: "Water OT network", desc: "Plant and pump-station network of the water utility, behind its own firewall", owner: "city-water", zone: "ot", layer: 1, rec: "ot", site: "harborrd", feeder: "feeder-h1",
		deps: deps(soft("city-core-network"), soft("metro-fiber")),
		slots: []slotT{
			slot("firewall", "IT/OT firewall", 1, 0),
			slot("ind-switch", "Plant network switch", 3, 1).grpF("switches", 0.5),
			slot("serial-server", "Serial device server", 1, 0.5).weak(),
		}},
	{id: "traffic-network", name: "Traffic signal network", desc: "Fiber and cellular links from the traffic management center to signal cabinets", owner: "city-transport", zone: "field", layer: 1, rec: "net", site: "cityhall",
		deps: deps(hard("city-core-network"), soft("metro-fiber")),
		slots: []slotT{
			slot("ind-switch", "Field hub switch", 3, 1).grpF("hubs", 0.5),
			slot("cell-gateway", "Cabinet cellular modem", 1, 0.3).weak().fleetOf(4, 24),
		}},
	{id: "port-network", name: "Port network", desc: "Terminal and authority network with the port's internet edge", owner: "port-authority", zone: "it", layer: 1, rec: "net", site: "harbor", feeder: "feeder-h1",
		deps: deps(hard("telecom-core")),
		slots: []slotT{
			slot("core-switch", "Port core switch", 2, 0).grp("core", 1).powered(),
			slot("firewall", "Port firewall", 2, 0).grp("firewalls", 1),
			slot("access-point", "Yard wireless access point", 2, 0.8).grpF("yard-wifi", 0.5).fleetOf(4, 20),
			slot("ind-switch", "Quay switch", 2, 0.5).weak(),
		}},
	{id: "hospital-network", name: "Hospital network", desc: "Campus network of the general hospital", owner: "hospital", zone: "it", layer: 1, rec: "net", site: "hospital", feeder: "feeder-s2",
		deps: deps(soft("telecom-core")),
		slots: []slotT{
			slot("core-switch", "Hospital core switch", 2, 0).grp("core", 1),
			slot("firewall", "Hospital firewall", 2, 0).grp("firewalls", 1),
			slot("switch", "Floor switch", 4, 1).weak(),
			slot("access-point", "Clinical Wi-Fi", 2, 0.5).weak().fleetOf(10, 40),
		}},
	{id: "transit-network", name: "Transit communications network", desc: "Depot, station and wayside network of the transit operator", owner: "transit", zone: "it", layer: 1, rec: "net", site: "depot", feeder: "feeder-s1",
		deps: deps(soft("telecom-core"), soft("metro-fiber")),
		slots: []slotT{
			slot("switch", "Transit core switch", 2, 0).grp("core", 1),
			slot("ind-switch", "Wayside switch", 3, 0.8).weak(),
			slot("firewall", "Transit firewall", 1, 0),
		}},
	{id: "p25-radio", name: "P25 radio network", desc: "Trunked public safety radio: master site, tower sites and consoles", owner: "city-police", zone: "field", layer: 1, rec: "radio", site: "psb",
		deps: deps(soft("city-core-network")), used: []useT{usedHard("public-safety-radio")},
		slots: []slotT{
			slot("radio-site", "Tower site", 5, 0.3).grp("sites", 3).spread(),
			slot("server", "Radio master site controller", 2, 0).grp("master", 1),
			slot("portable-radio", "Portable radios", 2, 0.3).weak().fleetOf(5, 40),
		}},

	// Layer 2: shared IT services.
	{id: "active-directory", name: "Active Directory", desc: "Identity, authentication and group policy for every city department", owner: "city-it", zone: "it", layer: 2, rec: "it", site: "datacenter",
		deps: deps(hard("city-core-network"), hard("city-datacenter")), used: []useT{usedHard("city-it-services")},
		slots: []slotT{slot("server", "Domain controller", 2, 0.2).grp("dcs", 1)}},
	{id: "backup", name: "Backup", desc: "Backups of city servers; the only copy of several OT configurations", owner: "city-it", zone: "it", layer: 2, rec: "it", site: "datacenter",
		deps: deps(hard("city-datacenter"), hard("active-directory")), used: []useT{usedSoft("city-it-services")},
		slots: []slotT{
			slot("backup", "Backup server", 1, 0),
			slot("nas", "Backup storage", 1, 0),
		}},
	{id: "email", name: "E-mail and collaboration", desc: "Mail, intranet and document sharing", owner: "city-it", zone: "cloud", layer: 2, exposed: true, rec: "cloud", site: "datacenter",
		deps: deps(hard("city-internet-edge"), hard("active-directory")), used: []useT{usedSoft("city-it-services")},
		slots: []slotT{slot("sharepoint", "Intranet server", 2, 0.2).grp("farm", 1)}},
	{id: "remote-access", name: "Remote access VPN gateway", desc: "Staff and vendor remote access, including vendors of OT systems", owner: "city-it", zone: "dmz", layer: 2, exposed: true, rec: "net", site: "datacenter",
		deps: deps(hard("city-internet-edge"), hard("active-directory")), used: []useT{usedSoft("city-it-services")},
		slots: []slotT{
			slot("vpn", "VPN gateway", 1, 0),
			slot("vdi", "Virtual desktop broker", 1, 0.3).weak(),
		}},
	{id: "city-telephony", name: "City telephony (VoIP)", desc: "Call control, voicemail and desk phones", owner: "city-it", zone: "it", layer: 2, rec: "it", site: "datacenter",
		deps: deps(hard("city-core-network"), hard("telecom-core")), used: []useT{usedSoft("city-it-services")},
		slots: []slotT{
			slot("ucm", "Call manager", 2, 0).grp("cluster", 1),
			slot("phone", "Desk phones", 2, 0.5).weak().fleetOf(5, 40),
		}},
	{id: "soc-siem", name: "Security monitoring (SIEM)", desc: "Log collection and alerting run by the CISO's office", owner: "city-ciso", zone: "it", layer: 2, rec: "it", site: "datacenter",
		deps: deps(hard("city-core-network"), soft("city-datacenter")), used: []useT{usedSoft("city-it-services")},
		slots: []slotT{
			slot("siem", "Log analyzer", 1, 0),
			slot("workstation", "Analyst workstation", 2, 0.3).weak(),
		}},
	{id: "gis", name: "Geographic information system (GIS)", desc: "Maps and address points used by dispatch, permits and utilities", owner: "city-it", zone: "it", layer: 2, rec: "it", site: "datacenter",
		deps: deps(hard("city-datacenter"), hard("active-directory")),
		slots: []slotT{
			slot("app-server", "GIS server", 2, 0.2).grp("gis", 1),
			slot("db", "GIS database", 1, 0),
		}},
	{id: "erp", name: "ERP (finance, HR and payroll)", desc: "General ledger, purchasing, HR and payroll", owner: "city-finance", zone: "it", layer: 2, rec: "it", site: "datacenter",
		deps: deps(hard("city-datacenter"), hard("active-directory"), soft("backup")), used: []useT{usedHard("city-payroll")},
		slots: []slotT{
			slot("app-server", "ERP application server", 2, 0.2).grp("app", 1),
			slot("db", "ERP database", 1, 0),
			slot("message-queue", "ERP integration queue", 1, 0).weak(),
			slot("workstation", "Finance workstation", 2, 1).weak(),
		}},

	// Layer 3: systems behind the services.
	// Water.
	{id: "water-scada", name: "Water SCADA", desc: "Supervisory control of the treatment plant, tanks and pump stations", owner: "city-water", zone: "ot", layer: 3, rec: "ot", site: "harborrd", feeder: "feeder-h1",
		deps: deps(hard("water-ot-network"), soft("active-directory"), soft("remote-access")), used: []useT{usedHard("drinking-water")},
		slots: []slotT{
			slot("scada", "SCADA server", 2, 0.2).grp("scada", 1),
			slot("historian", "Historian", 1, 0).weak(),
			slot("hmi", "Operator HMI", 2, 0.6).weak(),
			slot("eng-ws", "Engineering workstation", 1, 0.2).weak(),
		}},
	{id: "water-treatment", name: "Harbor Road water treatment plant", desc: "Filtration, chemical dosing and clearwell controls", owner: "city-water", zone: "ot", layer: 3, rec: "ot", site: "harborrd", feeder: "feeder-h2",
		deps: deps(soft("water-scada"), soft("water-ot-network")), used: []useT{usedHard("drinking-water")},
		slots: []slotT{
			slot("plc-large", "Filter and dosing PLC", 4, 0.4).grpF("process", 0.75).powered(),
			slot("hmi", "Plant HMI", 2, 0.3).weak(),
			slot("io", "Chlorine and turbidity I/O", 2, 0.6).weak(),
			slot("ups", "Control panel UPS", 1, 0).weak(),
		}},
	{id: "pump-station-main", name: "Main pumping station", desc: "High-service pumps that lift treated water into the distribution system", owner: "city-water", zone: "field", layer: 3, rec: "ot", site: "harborrd", feeder: "feeder-h1",
		deps: deps(soft("water-scada")), used: []useT{usedHard("drinking-water")},
		slots: []slotT{
			// Redundant pumps, but both fed by feeder H1: a common-mode failure.
			slot("plc", "Pump PLC", 2, 0).grp("pumps", 1).powered(),
			slot("rtu", "Station RTU", 1, 0).weak().powered(),
			slot("cell-gateway", "Station cellular modem", 1, 0).weak(),
		}},
	{id: "pump-station-%03d", name: "Pump station %d", desc: "Booster pump station", owner: "city-water", zone: "field", layer: 3, rec: "ot", repeat: 2,
		deps: deps(soft("water-scada")), used: []useT{usedSoft("drinking-water")},
		slots: []slotT{
			slot("plc", "Pump PLC", 2, 0.1).grp("pumps", 1).powered(),
			slot("rtu", "Station RTU", 1, 0).weak(),
			slot("cell-gateway", "Station cellular modem", 1, 0).weak(),
			slot("water-sensor", "Pressure sensors", 0, 0.3).weak().fleetOf(2, 12),
		}},
	{id: "water-quality", name: "Water quality monitoring", desc: "Online analyzers across the distribution system", owner: "city-water", zone: "field", layer: 3, rec: "field", site: "harborrd",
		deps: deps(soft("water-ot-network")), used: []useT{usedSoft("drinking-water"), usedSoft("disease-surveillance")},
		slots: []slotT{
			slot("water-sensor", "Quality analyzers", 2, 1).weak().fleetOf(5, 40),
			slot("app-server", "Laboratory information system", 1, 0),
		}},
	{id: "water-ami", name: "Water AMI", desc: "Smart water meters and their collectors", owner: "city-water", zone: "field", layer: 3, rec: "field", site: "harborrd",
		deps: deps(soft("mobile-core"), soft("city-datacenter")), used: []useT{usedHard("utility-billing")},
		slots: []slotT{
			slot("water-meter", "Water meters", 3, 1).grpF("meters", 0.8).fleetOf(100, 400),
			slot("ami-collector", "Meter collector", 2, 0.4).weak().fleetOf(2, 20),
			slot("app-server", "Meter data management", 1, 0),
		}},
	{id: "wastewater-scada", name: "Wastewater SCADA", desc: "Supervisory control of the wastewater plant and lift stations", owner: "city-water", zone: "ot", layer: 3, rec: "ot", site: "wwtp", feeder: "feeder-s1",
		deps: deps(hard("water-ot-network"), soft("active-directory")), used: []useT{usedHard("wastewater")},
		slots: []slotT{
			slot("scada", "SCADA server", 2, 0.1).grp("scada", 1),
			slot("hmi", "Operator HMI", 2, 0.3).weak(),
		}},
	{id: "wastewater-plant", name: "Southshore wastewater treatment plant", desc: "Headworks, aeration and disinfection controls", owner: "city-water", zone: "ot", layer: 3, rec: "ot", site: "wwtp", feeder: "feeder-s1",
		deps: deps(soft("wastewater-scada")), used: []useT{usedHard("wastewater")},
		slots: []slotT{
			slot("plc", "Process PLC", 4, 0.5).grpF("process", 0.75).powered(),
			slot("io", "Process I/O", 2, 0.5).weak(),
			slot("ups", "Control UPS", 1, 0).weak(),
		}},
	{id: "lift-station-%03d", name: "Lift station %d", desc: "Sewage lift station", owner: "city-water", zone: "field", layer: 3, rec: "ot", repeat: 1.5,
		deps: deps(soft("wastewater-scada")), used: []useT{usedSoft("wastewater")},
		slots: []slotT{
			slot("plc", "Lift pump PLC", 2, 0.1).grp("pumps", 1).powered(),
			slot("cell-gateway", "Station cellular modem", 1, 0).weak(),
			slot("level-sensor", "Wet well level sensors", 0, 0.3).weak().fleetOf(2, 6),
		}},
	{id: "tide-gates", name: "Harbor tide gate control", desc: "Gate drives and controls of the harbor flood barrier", owner: "city-publicworks", zone: "ot", layer: 3, rec: "ot", site: "tidegate", feeder: "feeder-h2",
		deps: deps(soft("water-ot-network")), used: []useT{usedHard("flood-protection")},
		slots: []slotT{
			slot("plc", "Gate PLC", 3, 0).grp("gates", 2).powered(),
			slot("hmi", "Gate control HMI", 1, 0).weak(),
			slot("ups", "Gate UPS", 2, 0).weak(),
		}},
	{id: "flood-warning", name: "Flood warning sensors", desc: "Tide, rain and water level gauges", owner: "city-publicworks", zone: "field", layer: 3, rec: "field", site: "tidegate",
		deps: deps(soft("mobile-core")), used: []useT{usedSoft("flood-protection"), usedSoft("emergency-alerts")},
		slots: []slotT{
			slot("level-sensor", "Level gauges", 2, 0.6).weak().fleetOf(4, 30),
			slot("cell-gateway", "Gauge modem", 1, 0.2).weak().fleetOf(4, 30),
		}},

	// Electric metering and outages.
	{id: "ami-headend", name: "AMI head-end", desc: "Head-end of the electric smart meter network", owner: "electric-utility", zone: "it", layer: 3, rec: "it", site: "north",
		deps: deps(hard("telecom-core"), soft("grid-ems")), used: []useT{usedHard("electric-metering")},
		slots: []slotT{
			slot("server", "Head-end server", 2, 0.1).grp("headend", 1),
			slot("db", "Meter data database", 1, 0),
		}},
	{id: "ami-mesh", name: "Electric AMI meter network", desc: "Smart electric meters and their collectors", owner: "electric-utility", zone: "field", layer: 3, rec: "field", site: "north",
		deps: deps(soft("mobile-core"), hard("ami-headend")), used: []useT{usedSoft("electric-metering")},
		slots: []slotT{
			slot("smart-meter", "Electric meters", 4, 1.5).grpF("meters", 0.7).fleetOf(100, 450),
			slot("ami-collector", "Meter collector", 2, 0.5).weak().fleetOf(5, 40),
		}},
	{id: "outage-management", name: "Outage management system", desc: "Outage prediction, crew dispatch and restoration tracking", owner: "electric-utility", zone: "it", layer: 3, rec: "it", site: "north",
		deps: deps(soft("grid-ems"), soft("ami-headend")), used: []useT{usedSoft("electric-distribution")},
		slots: []slotT{
			slot("app-server", "OMS server", 2, 0.1).grp("oms", 1),
			slot("tablet", "Crew tablets", 1, 0.3).weak().fleetOf(4, 30),
		}},

	// Transportation.
	{id: "traffic-management", name: "Traffic management system", desc: "Central signal system, timing plans and video wall at the traffic management center", owner: "city-transport", zone: "it", layer: 3, rec: "it", site: "cityhall",
		deps: deps(hard("traffic-network"), hard("city-datacenter"), soft("active-directory")), used: []useT{usedHard("traffic-signals")},
		slots: []slotT{
			slot("server", "Central signal server", 1, 0),
			slot("db", "Signal database", 1, 0).weak(),
			slot("workstation", "Operator workstation", 2, 0.4).weak(),
		}},
	{id: "signal-controllers", name: "Traffic signal controllers, downtown", desc: "Intersection controllers and cabinet equipment downtown", owner: "city-transport", zone: "field", layer: 3, rec: "field", site: "oldtown",
		deps: deps(soft("traffic-network")), used: []useT{usedHard("traffic-signals")},
		slots: []slotT{
			slot("traffic-controller", "Signal controllers", 4, 0.5).grpF("controllers", 0.8).fleetOf(2, 12).spread(),
			slot("ind-switch", "Cabinet switch", 2, 0.4).weak().fleetOf(2, 12),
		}},
	{id: "traffic-corridor-%03d", name: "Traffic corridor %d signals", desc: "Coordinated signals along an arterial", owner: "city-transport", zone: "field", layer: 3, rec: "field", repeat: 2,
		deps: deps(soft("traffic-network")), used: []useT{usedSoft("traffic-signals")},
		slots: []slotT{
			slot("traffic-controller", "Signal controllers", 2, 0.2).grpF("controllers", 0.8).fleetOf(2, 10).powered(),
			slot("cell-gateway", "Cabinet modem", 1, 0.1).weak().fleetOf(2, 10),
			slot("camera", "Detection cameras", 0, 0.2).weak().fleetOf(2, 12),
		}},
	{id: "traffic-cameras", name: "Traffic cameras", desc: "Pan-tilt-zoom cameras watched from the traffic management center", owner: "city-transport", zone: "field", layer: 3, rec: "field", site: "oldtown",
		deps: deps(hard("traffic-network")), used: []useT{usedSoft("traffic-signals")},
		slots: []slotT{slot("camera", "Traffic cameras", 2, 0.5).weak().fleetOf(4, 24)}},
	{id: "streetlight-control", name: "Streetlight control system", desc: "Networked streetlight nodes and their central management", owner: "city-publicworks", zone: "field", layer: 3, rec: "field", site: "cityhall",
		deps: deps(soft("mobile-core"), soft("city-datacenter")), used: []useT{usedHard("street-lighting")},
		slots: []slotT{
			slot("streetlight-node", "Streetlight nodes", 3, 0.6).grpF("nodes", 0.5).fleetOf(20, 150),
			slot("cell-gateway", "Lighting gateway", 2, 0.3).weak().fleetOf(5, 40),
			slot("app-server", "Lighting management server", 1, 0).weak(),
		}},
	{id: "parking-system", name: "Parking and pay station system", desc: "Pay stations, garage gates and the enforcement back office", owner: "city-transport", zone: "dmz", layer: 3, exposed: true, rec: "it", site: "oldtown",
		deps: deps(hard("city-internet-edge"), soft("city-datacenter")), used: []useT{usedHard("parking")},
		slots: []slotT{
			slot("kiosk", "Pay stations", 2, 1).weak().fleetOf(5, 30),
			slot("secure-web-app", "Parking back office", 1, 0),
			slot("tablet", "Enforcement handhelds", 1, 0.2).weak().fleetOf(10, 40),
		}},
	{id: "transit-cad-avl", name: "Transit CAD/AVL", desc: "Computer-aided dispatch and automatic vehicle location for buses and trains", owner: "transit", zone: "it", layer: 3, rec: "it", site: "depot",
		deps: deps(hard("transit-network"), soft("mobile-core")), used: []useT{usedHard("public-transit")},
		slots: []slotT{
			slot("server", "CAD/AVL server", 2, 0.1).grp("servers", 1),
			slot("vehicle-gateway", "On-board router", 2, 1.5).weak().fleetOf(5, 40),
			slot("workstation", "Dispatcher console", 2, 0.3).weak(),
		}},
	{id: "transit-fare", name: "Fare collection system", desc: "Validators, ticket machines and the fare back office", owner: "transit", zone: "dmz", layer: 3, exposed: true, rec: "it", site: "depot",
		deps: deps(hard("transit-network")), used: []useT{usedSoft("public-transit")},
		slots: []slotT{
			slot("tablet", "Fare validators", 2, 1).weak().fleetOf(4, 30),
			slot("kiosk", "Ticket vending machines", 1, 0.4).weak().fleetOf(5, 40),
			slot("secure-web-app", "Fare back office", 1, 0),
		}},
	{id: "rail-traction-scada", name: "Light rail traction power SCADA", desc: "Traction power substations of the light rail line", owner: "transit", zone: "ot", layer: 3, rec: "ot", site: "depot", feeder: "feeder-s1",
		deps: deps(hard("transit-network")), used: []useT{usedHard("public-transit")},
		slots: []slotT{
			slot("scada", "Traction SCADA server", 2, 0).grp("scada", 1),
			slot("rtu", "Traction substation RTU", 3, 0.4).grpF("tpss", 0.66).powered(),
		}},
	{id: "bus-depot-%03d", name: "Bus depot %d systems", desc: "Yard management, fueling and charging at a bus depot", owner: "transit", zone: "it", layer: 3, rec: "it", repeat: 0.7,
		deps: deps(soft("transit-network")), used: []useT{usedSoft("public-transit")},
		slots: []slotT{
			slot("switch", "Depot switch", 1, 0),
			slot("plc", "Charger and fuel controller", 1, 0.4).weak().powered(),
			slot("workstation", "Depot workstation", 0, 0.5).weak(),
		}},

	// Port.
	{id: "port-tos", name: "Port TOS (terminal operating system)", desc: "Vessel, yard and gate planning for the container terminal", owner: "port-terminal", zone: "it", layer: 3, rec: "it", site: "harbor",
		deps: deps(hard("port-network"), soft("telecom-core")), used: []useT{usedHard("port-container-ops")},
		slots: []slotT{
			slot("tos", "TOS application server", 2, 0.1).grp("app", 1),
			slot("db", "TOS database", 1, 0),
			slot("message-queue", "EDI message broker", 1, 0),
			slot("workstation", "Planner workstation", 2, 0.6).weak(),
			slot("tablet", "Yard handhelds", 1, 0.4).weak().fleetOf(5, 30),
		}},
	{id: "crane-control", name: "Ship-to-shore crane control", desc: "Drive and safety control of the quay cranes", owner: "port-terminal", zone: "ot", layer: 3, rec: "ot", site: "harbor", feeder: "feeder-h1",
		deps: deps(soft("port-network")), used: []useT{usedHard("port-container-ops")},
		slots: []slotT{
			// Four cranes, two needed, all on feeder H1.
			slot("plc-large", "Crane PLC", 4, 0.2).grp("cranes", 2).powered(),
			slot("hmi", "Crane cab HMI", 2, 0.3).weak(),
			slot("camera", "Crane cameras", 1, 0.2).weak().fleetOf(4, 16),
		}},
	{id: "yard-block-%03d", name: "Container yard block %d", desc: "Rubber-tyred gantry cranes and reefer monitoring of one yard block", owner: "port-terminal", zone: "ot", layer: 3, rec: "ot", repeat: 1,
		deps: deps(soft("port-network"), soft("port-tos")), used: []useT{usedSoft("port-container-ops")},
		slots: []slotT{
			slot("plc", "Gantry crane PLC", 2, 0.3).grp("gantries", 1).powered(),
			slot("io", "Reefer monitoring", 1, 0.4).weak().fleetOf(4, 30),
		}},
	{id: "terminal-gate", name: "Terminal gate automation", desc: "Gate lanes, optical character recognition and truck appointments", owner: "port-terminal", zone: "dmz", layer: 3, exposed: true, rec: "it", site: "harbor",
		deps: deps(hard("port-network"), soft("port-tos")), used: []useT{usedSoft("port-container-ops")},
		slots: []slotT{
			slot("camera", "OCR cameras", 2, 0.3).weak().fleetOf(4, 24),
			slot("kiosk", "Gate kiosks", 2, 0.3).grp("lanes", 1),
			slot("web-app", "Truck appointment portal", 1, 0),
		}},
	{id: "port-access-control", name: "Port access control", desc: "Credential readers, turnstiles and gates at the port (TWIC)", owner: "port-authority", zone: "it", layer: 3, rec: "it", site: "harbor",
		deps: deps(hard("port-network")), used: []useT{usedHard("port-security")},
		slots: []slotT{
			slot("bas-server", "Access control server", 1, 0),
			slot("access-panel", "Door and gate controllers", 2, 0.6).weak().fleetOf(4, 30),
		}},
	{id: "port-vms", name: "Port VMS cameras", desc: "Perimeter and quay video surveillance", owner: "port-authority", zone: "it", layer: 3, rec: "it", site: "harbor",
		deps: deps(hard("port-network")), used: []useT{usedHard("port-security")},
		slots: []slotT{
			slot("nvr", "Video recorder", 2, 0.2).grp("recorders", 1),
			slot("camera", "Perimeter cameras", 2, 0.8).weak().fleetOf(4, 24),
		}},
	{id: "vessel-traffic-service", name: "Vessel traffic service", desc: "Radar, AIS and the harbor control room", owner: "port-authority", zone: "ot", layer: 3, rec: "radio", site: "harbor", feeder: "feeder-h2",
		deps: deps(soft("port-network")), used: []useT{usedHard("vessel-traffic")},
		slots: []slotT{
			slot("radar", "Harbor radar", 2, 0).grp("radars", 1).powered(),
			slot("ais", "AIS base station", 1, 0).powered(),
			slot("server", "VTS server", 2, 0).grp("servers", 1),
			slot("workstation", "VTS operator console", 2, 0.1).weak(),
		}},
	{id: "fuel-terminal-dcs", name: "Fuel terminal DCS", desc: "Tank farm control, loading racks and the safety instrumented system", owner: "port-terminal", zone: "ot", layer: 3, rec: "ot", site: "pier", feeder: "feeder-h1",
		deps: deps(soft("port-network")), used: []useT{usedHard("port-fuel-terminal")},
		slots: []slotT{
			slot("dcs", "DCS server", 2, 0).grp("dcs", 1),
			slot("sis", "Safety instrumented system", 1, 0).powered(),
			slot("plc", "Loading rack controller", 2, 0.3).grpF("racks", 0.5),
			slot("level-sensor", "Tank gauges", 1, 0.5).weak().fleetOf(6, 40),
			slot("eng-ws", "DCS engineering workstation", 1, 0).weak(),
		}},

	// Public safety.
	{id: "cad", name: "CAD (computer-aided dispatch)", desc: "Incident entry, unit recommendation and status for police, fire and EMS", owner: "city-police", zone: "it", layer: 3, rec: "it", site: "psb", feeder: "feeder-n1",
		deps: deps(hard("city-core-network"), hard("city-datacenter"), hard("active-directory"), soft("gis")), used: []useT{usedHard("911-dispatch"), usedHard("ems-dispatch")},
		slots: []slotT{
			// One CAD application server: a single point of failure for 911.
			slot("cad", "CAD application server", 1, 0),
			slot("db", "CAD database server", 2, 0).grp("db", 1),
			slot("workstation", "Dispatcher workstation", 4, 0.5).weak(),
			slot("message-queue", "CAD interface broker", 1, 0).weak(),
		}},
	{id: "ng911-call-handling", name: "911 call handling (NG911)", desc: "Call routing, answering positions and location data at the PSAP", owner: "city-police", zone: "it", layer: 3, rec: "it", site: "psb",
		deps: deps(hard("telecom-core"), soft("city-core-network")), used: []useT{usedHard("911-dispatch")},
		slots: []slotT{
			slot("ucm", "Call handling server", 2, 0).grp("servers", 1),
			slot("phone", "Answering positions", 2, 0.1).weak().fleetOf(6, 24),
			slot("ups", "PSAP UPS", 2, 0).grp("ups", 1),
		}},
	{id: "police-rms", name: "Police records management system", desc: "Incident reports, warrants and evidence", owner: "city-police", zone: "it", layer: 3, rec: "it", site: "psb",
		deps: deps(hard("city-datacenter"), hard("active-directory")), used: []useT{usedSoft("911-dispatch")},
		slots: []slotT{
			slot("app-server", "RMS server", 1, 0),
			slot("db", "RMS database", 1, 0),
		}},
	{id: "police-vms", name: "Police VMS cameras", desc: "Public space video cameras and recorders", owner: "city-police", zone: "field", layer: 3, rec: "field", site: "psb",
		deps: deps(hard("city-core-network"), soft("metro-fiber")), used: []useT{usedSoft("911-dispatch")},
		slots: []slotT{
			slot("nvr", "Video recorder", 2, 0.3).grpF("recorders", 0.5),
			slot("camera", "City cameras", 2, 0.8).weak().fleetOf(4, 24),
		}},
	{id: "mobile-data", name: "Mobile data terminals", desc: "Laptops and routers in police cars, engines and ambulances", owner: "city-police", zone: "field", layer: 3, rec: "field", site: "psb",
		deps: deps(hard("mobile-core"), soft("remote-access")), used: []useT{usedSoft("911-dispatch"), usedSoft("ems-dispatch")},
		slots: []slotT{
			slot("vehicle-gateway", "Vehicle routers", 2, 0.6).weak().fleetOf(5, 40),
			slot("tablet", "Vehicle laptops", 2, 0.6).weak().fleetOf(5, 40),
		}},
	{id: "fire-alerting", name: "Fire station alerting system", desc: "Controller that turns out crews in every fire station", owner: "city-fire", zone: "it", layer: 3, rec: "it", site: "psb",
		deps: deps(hard("city-wan"), soft("cad")), used: []useT{usedHard("fire-station-alerting")},
		slots: []slotT{
			slot("server", "Alerting controller", 1, 0),
			slot("io", "Station alerting units", 2, 0.4).weak().fleetOf(2, 8),
		}},
	{id: "fire-station-%03d", name: "Fire station %d network", desc: "Station network, alerting and building controls", owner: "city-fire", zone: "field", layer: 3, rec: "field", repeat: 1,
		deps: deps(soft("city-wan")), used: []useT{usedSoft("fire-station-alerting")},
		slots: []slotT{
			slot("router", "Station router", 1, 0),
			slot("io", "Station alerting unit", 1, 0),
			slot("workstation", "Station workstation", 0, 0.6).weak(),
		}},
	{id: "ems-epcr", name: "EMS electronic patient care reporting", desc: "Patient care reports from ambulances to the hospital", owner: "city-fire", zone: "cloud", layer: 3, exposed: true, rec: "cloud", site: "psb",
		deps: deps(soft("mobile-core")), used: []useT{usedSoft("ems-dispatch")},
		slots: []slotT{
			slot("secure-web-app", "ePCR service", 1, 0),
			slot("tablet", "Ambulance tablets", 1, 0.3).weak().fleetOf(10, 40),
		}},
	{id: "alerting-platform", name: "Emergency alerting platform", desc: "Alert origination to wireless alerts, sirens and the opt-in list", owner: "city-emergency", zone: "cloud", layer: 3, exposed: true, rec: "cloud", site: "cityhall",
		deps: deps(soft("city-internet-edge")), used: []useT{usedHard("emergency-alerts")},
		slots: []slotT{
			slot("secure-web-app", "Alert origination service", 1, 0),
			slot("workstation", "Alert origination workstation", 2, 0).weak(),
		}},
	{id: "outdoor-sirens", name: "Outdoor warning sirens", desc: "Siren controllers on the waterfront and in low-lying districts", owner: "city-emergency", zone: "field", layer: 3, rec: "radio", site: "tidegate",
		deps: deps(soft("p25-radio")), used: []useT{usedSoft("emergency-alerts")},
		slots: []slotT{slot("siren", "Siren controllers", 3, 0.4).grpF("sirens", 0.7).fleetOf(2, 10).spread()}},
	{id: "eoc-systems", name: "EOC systems", desc: "Video wall, incident management and workstations of the emergency operations center", owner: "city-emergency", zone: "it", layer: 3, rec: "it", site: "cityhall",
		deps: deps(hard("city-core-network"), hard("active-directory"), soft("email")), used: []useT{usedHard("emergency-operations")},
		slots: []slotT{
			slot("app-server", "Incident management server", 1, 0),
			slot("workstation", "EOC workstation", 3, 0.5).weak(),
		}},

	// Health.
	{id: "ehr", name: "Electronic health record (EHR)", desc: "The hospital's clinical record system", owner: "hospital", zone: "it", layer: 3, rec: "it", site: "hospital",
		deps: deps(hard("hospital-network")), used: []useT{usedHard("hospital-records")},
		slots: []slotT{
			slot("app-server", "EHR application server", 2, 0.2).grp("app", 1),
			slot("db", "EHR database", 2, 0).grp("db", 1),
			slot("vdi", "Clinical desktop broker", 1, 0),
			slot("workstation", "Clinical workstation", 3, 2).weak(),
		}},
	{id: "ed-systems", name: "Emergency department systems", desc: "Patient monitoring, tracking board and imaging in the emergency department", owner: "hospital", zone: "it", layer: 3, rec: "med", site: "hospital",
		deps: deps(hard("hospital-network"), hard("ehr")), used: []useT{usedHard("hospital-emergency")},
		slots: []slotT{
			slot("medical", "Patient monitors", 2, 0.8).weak().fleetOf(4, 30),
			slot("server", "Monitoring central station", 1, 0),
			slot("workstation", "Tracking board", 1, 0.2).weak(),
		}},
	{id: "hospital-power", name: "Hospital emergency power", desc: "Generators, transfer switches and UPS of the hospital", owner: "hospital", zone: "ot", layer: 3, rec: "ot", site: "hospital",
		used: []useT{usedHard("hospital-emergency")},
		slots: []slotT{
			slot("plc", "Generator controller", 2, 0).grp("generators", 1),
			slot("ups", "Critical UPS", 2, 0.2).weak(),
		}},
	{id: "hospital-bas", name: "Hospital building automation", desc: "HVAC, isolation room pressure and medical gas alarms", owner: "hospital", zone: "ot", layer: 3, rec: "ot", site: "hospital",
		deps: deps(soft("hospital-network")), used: []useT{usedSoft("hospital-emergency")},
		slots: []slotT{
			slot("bas-server", "BAS server", 1, 0),
			slot("bas", "Air handler controllers", 2, 0.6).weak().fleetOf(2, 20),
		}},
	{id: "health-surveillance", name: "Disease surveillance system", desc: "Electronic lab reporting and case management", owner: "city-health", zone: "cloud", layer: 3, exposed: true, rec: "cloud", site: "cityhall",
		deps: deps(soft("city-internet-edge")), used: []useT{usedHard("disease-surveillance")},
		slots: []slotT{
			slot("secure-web-app", "Surveillance application", 1, 0),
			slot("workstation", "Epidemiologist workstation", 2, 0.3).weak(),
		}},
	{id: "food-inspection", name: "Food inspection system", desc: "Inspection scheduling, results and mobile inspections", owner: "city-health", zone: "it", layer: 3, rec: "it", site: "cityhall",
		deps: deps(hard("city-datacenter"), soft("active-directory")), used: []useT{usedHard("food-inspections")},
		slots: []slotT{
			slot("app-server", "Inspection server", 1, 0),
			slot("tablet", "Inspector tablets", 1, 0.2).weak().fleetOf(5, 30),
		}},

	// Government and finance.
	{id: "cis-billing", name: "Customer information and billing system", desc: "Water and sewer accounts, bills and collections", owner: "city-finance", zone: "it", layer: 3, rec: "it", site: "datacenter",
		deps: deps(hard("city-datacenter"), hard("active-directory"), soft("water-ami")), used: []useT{usedHard("utility-billing")},
		slots: []slotT{
			slot("app-server", "Billing server", 2, 0).grp("app", 1),
			slot("db", "Billing database", 1, 0),
		}},
	{id: "payment-portal", name: "Online payment portal", desc: "Card payments for taxes, fees and tickets", owner: "city-finance", zone: "dmz", layer: 3, exposed: true, rec: "it", site: "datacenter",
		deps: deps(hard("city-internet-edge"), hard("erp")), used: []useT{usedHard("online-payments")},
		slots: []slotT{
			slot("waf", "Payment WAF", 1, 0),
			slot("secure-web-app", "Payment application", 2, 0).grp("app", 1),
		}},
	{id: "permits-system", name: "Permitting and inspections system", desc: "Permit applications, plan review and inspections", owner: "city-planning", zone: "it", layer: 3, exposed: true, rec: "it", site: "cityhall",
		deps: deps(hard("city-datacenter"), hard("active-directory"), soft("gis")), used: []useT{usedHard("permits")},
		slots: []slotT{
			slot("web-app", "Permits portal", 1, 0),
			slot("db", "Permits database", 1, 0),
			slot("tablet", "Inspector tablets", 1, 0.2).weak().fleetOf(5, 30),
		}},
	{id: "city-web", name: "City website and 311 portal", desc: "Public website, 311 requests and the contact center", owner: "city-it", zone: "cloud", layer: 3, exposed: true, rec: "cloud", site: "datacenter",
		deps: deps(soft("city-internet-edge"), soft("gis")), used: []useT{usedHard("city-website-311")},
		slots: []slotT{
			slot("web-app", "Web server", 2, 0).grp("web", 1),
			slot("workstation", "311 agent workstation", 2, 0.4).weak(),
		}},
	{id: "public-wifi-network", name: "Public Wi-Fi network", desc: "Access points in libraries, parks, shelters and the waterfront", owner: "city-it", zone: "dmz", layer: 3, exposed: true, rec: "net", site: "cityhall",
		deps: deps(hard("city-internet-edge")), used: []useT{usedHard("public-wifi")},
		slots: []slotT{
			slot("wlc", "Wireless LAN controller", 2, 0).grp("controllers", 1),
			slot("access-point", "Public access points", 3, 1.5).grpF("aps", 0.5).fleetOf(5, 40),
		}},
	{id: "city-facilities-bas", name: "City facilities building automation", desc: "HVAC, lighting and access for City Hall and the Public Safety Building", owner: "city-publicworks", zone: "ot", layer: 3, rec: "ot", site: "cityhall",
		deps: deps(soft("city-core-network")), used: []useT{usedHard("building-automation")},
		slots: []slotT{
			slot("bas-server", "Building management server", 1, 0),
			slot("bas", "HVAC controllers", 2, 0.8).weak().fleetOf(2, 20),
			slot("access-panel", "Door controllers", 1, 0.4).weak().fleetOf(4, 30),
		}},
	{id: "facility-%03d", name: "Facility %d building controls", desc: "Building controls of a library, school, pool or shelter", owner: "city-publicworks", zone: "ot", layer: 3, rec: "ot", repeat: 1.2,
		deps: deps(soft("city-wan")), used: []useT{usedSoft("building-automation")},
		slots: []slotT{
			slot("bas", "HVAC controller", 1, 0.5).grpF("hvac", 0.5),
			slot("access-panel", "Door controllers", 0, 0.3).weak().fleetOf(2, 12),
			slot("camera", "Facility cameras", 0, 0.3).weak().fleetOf(2, 16),
		}},
	{id: "convention-systems", name: "Convention center systems", desc: "Building controls, cameras and event Wi-Fi of the convention center", owner: "city-parks", zone: "it", layer: 3, rec: "it", site: "convention",
		deps: deps(soft("city-wan")), used: []useT{usedHard("convention-center")},
		slots: []slotT{
			slot("bas-server", "Building management server", 1, 0),
			slot("bas", "HVAC controllers", 2, 0.2).weak().fleetOf(4, 20),
			slot("camera", "Venue cameras", 1, 0.3).weak().fleetOf(10, 40),
			slot("access-point", "Event Wi-Fi", 1, 0.2).weak().fleetOf(4, 30),
		}},
	{id: "parks-booking", name: "Parks reservation system", desc: "Online reservations and program registration", owner: "city-parks", zone: "cloud", layer: 3, exposed: true, rec: "cloud", site: "cityhall",
		deps: deps(soft("payment-portal")), used: []useT{usedHard("parks-facilities")},
		slots: []slotT{
			slot("web-app", "Reservation service", 1, 0),
			slot("workstation", "Front desk workstation", 1, 0.3).weak(),
		}},
	{id: "fleet-telematics", name: "Solid waste fleet telematics", desc: "Routing, vehicle tracking and weigh scales of the collection fleet", owner: "city-publicworks", zone: "cloud", layer: 3, rec: "cloud", site: "flats",
		deps: deps(hard("mobile-core")), used: []useT{usedHard("solid-waste")},
		slots: []slotT{
			slot("vehicle-gateway", "Truck telematics units", 2, 0.4).weak().fleetOf(4, 30),
			slot("web-app", "Routing service", 1, 0),
		}},
}

func substationSlots() []slotT {
	return []slotT{
		slot("rtu", "Substation RTU", 1, 0),
		slot("ind-switch", "Station bus switch", 2, 0.2).grp("station-bus", 1),
		slot("rtu", "Protection relay gateway", 2, 0.5).weak(),
		slot("cell-gateway", "Backup cellular link", 1, 0).weak(),
		slot("ups", "Station battery charger", 1, 0).weak(),
	}
}

func feeder(id, name, sub, siteKey string) sysT {
	return sysT{id: id, name: name, desc: "13.8 kV distribution circuit", owner: "electric-utility", zone: "field", layer: 0, rec: "power", site: siteKey,
		deps: deps(hard(sub)), used: []useT{usedSoft("electric-distribution")}, slots: feederSlots()}
}

func feederSlots() []slotT {
	return []slotT{
		slot("rtu", "Recloser controller", 1, 0),
		slot("cell-gateway", "Feeder cellular modem", 1, 0).weak(),
		slot("io", "Line sensors", 0, 0.3).weak().fleetOf(3, 20),
	}
}

func cellSlots() []slotT {
	return []slotT{
		slot("router", "Cell site router", 2, 0.3).grpF("sites", 0.5).powered(),
		slot("ups", "Cell site battery", 1, 0.2).weak(),
	}
}
