package generate

import (
	"fmt"
	"strings"
)

// device is one product an asset can be: its kind and the catalog entries
// (hardware h, firmware/OS o, application a) whose CPE names it carries.
type device struct {
	kind string
	h    string // catalog key "h:vendor:product" or ""
	o    string // catalog key "o:vendor:product" or ""
	a    string // catalog key "a:vendor:product" or ""
	// vendor, product and version describe products the catalog does not
	// hold (such assets carry no CPE) or override the displayed name of a
	// platform running an application the catalog does not hold.
	vendor, product, version string
	purl                     string // fmt pattern with one %s for the version

	// Resolved by resolveDevices.
	cpes  []string
	ver   string
	vend  string
	prod  string
	purls []string
}

// roles maps a role in a system to the products that can fill it. Every
// system picks one product per role, as cities standardize on a vendor.
var roles = map[string][]device{
	"plc": {
		{kind: "plc", h: "h:siemens:simatic_s7_cpu_1214c", o: "o:siemens:simatic_s7_cpu_1200_firmware"},
		{kind: "plc", o: "o:siemens:simatic_s7-1500_cpu_firmware"},
		{kind: "plc", h: "h:rockwellautomation:compactlogix_l32e_controller", version: "20.011"},
		{kind: "plc", a: "a:rockwellautomation:1763-l16bwa_series_b"},
		{kind: "plc", h: "h:omron:cj2m_plc"},
		{kind: "plc", o: "o:schneider-electric:modicon_m340_firmware", version: "2.70"},
		{kind: "plc", o: "o:wago:750-881_firmware"},
	},
	"plc-large": {
		{kind: "plc", o: "o:siemens:simatic_s7-1500_cpu_firmware"},
		{kind: "plc", h: "h:rockwellautomation:controllogix", version: "20.054"},
		{kind: "plc", o: "o:schneider-electric:modicon_m580_firmware", version: "2.30"},
	},
	"rtu": {
		{kind: "rtu", h: "h:emerson:roc_800_remote_terminal_unit", version: "3.60"},
		{kind: "rtu", o: "o:mitsubishielectric:smartrtu_firmware", version: "2.02"},
		{kind: "rtu", o: "o:yokogawa:fcn-rtu_firmware", version: "r4.01"},
		{kind: "rtu", o: "o:abb:ip_gateway_firmware", version: "3.39"},
	},
	"siren": {
		{kind: "rtu", o: "o:motorola:moscad_ip_gateway_firmware", version: "1.05"},
	},
	"hmi": {
		{kind: "hmi", h: "h:omron:ns10_hmi_terminal", o: "o:omron:ns_series_system_program_firmware"},
		{kind: "hmi", a: "a:siemens:wincc_runtime_advanced"},
		{kind: "hmi", a: "a:siemens:wincc_flexible_runtime", version: "2008"},
	},
	"scada": {
		{kind: "server", o: "o:microsoft:windows_server_2012", a: "a:advantech:webaccess"},
		{kind: "server", o: "o:microsoft:windows_server_2016", a: "a:inductiveautomation:ignition", purl: "pkg:generic/inductiveautomation/ignition@%s"},
		{kind: "server", o: "o:microsoft:windows_server_2008", a: `a:ge:intelligent_platforms_proficy_hmi\/scada_cimplicity`},
		{kind: "server", o: "o:microsoft:windows_server_2012", a: "a:siemens:wincc"},
		{kind: "server", o: "o:microsoft:windows_server_2008", a: "a:ecava:integraxor"},
	},
	"historian": {
		{kind: "server", o: "o:microsoft:windows_server_2012", a: "a:ge:intelligent_platforms_proficy_historian"},
	},
	"dcs": {
		{kind: "server", o: "o:microsoft:windows_server_2008", a: "a:emerson:deltav"},
		{kind: "server", o: "o:microsoft:windows_server_2008", a: "a:yokogawa:centum_cs_3000"},
		{kind: "server", o: "o:microsoft:windows_server_2012", a: "a:honeywell:experion_process_knowledge_system"},
	},
	"sis": {
		{kind: "plc", o: "o:yokogawa:prosafe-rs_firmware", version: "r3.02.10"},
	},
	"eng-ws": {
		{kind: "workstation", o: "o:microsoft:windows_7", a: "a:siemens:simatic_step_7"},
		{kind: "workstation", o: "o:microsoft:windows_10", a: "a:omron:cx-programmer"},
		{kind: "workstation", o: "o:microsoft:windows_7", a: "a:beckhoff:twincat"},
	},
	"camera": {
		{kind: "camera", o: "o:axis:m1033-w_firmware"},
		{kind: "camera", o: "o:axis:p1354_firmware"},
		{kind: "camera", o: "o:hikvision:ds-2cd7153-e_firmware"},
		{kind: "camera", o: "o:hikvision:ds-2cd2032-i_firmware", version: "5.4.0"},
		{kind: "camera", o: "o:d-link:dcs-825l_firmware"},
	},
	"nvr": {
		{kind: "server", o: "o:hikvision:ds-76xxx_series_firmware", version: "3.4.0"},
		{kind: "server", o: "o:axis:companion_recorder_8ch_firmware", version: "1.0.1"},
	},
	"core-switch": {
		{kind: "switch", o: "o:cisco:nx-os"},
		{kind: "switch", o: "o:cisco:ios_xe"},
	},
	"switch": {
		{kind: "switch", o: "o:cisco:ios"},
		{kind: "switch", o: "o:zyxel:gs1900-10hp_firmware", version: "2.40"},
	},
	"ind-switch": {
		{kind: "switch", o: "o:moxa:eds-g512e_firmware"},
		{kind: "switch", o: "o:phoenixcontact:fl_switch_3016_firmware", version: "1.33"},
		{kind: "switch", h: "h:belden:hirschmann_rs20-0900nnm4tdau", version: "09.0.06"},
		{kind: "switch", h: "h:ge:multilink_ml810", o: "o:ge:multilink_ml810_firmware"},
		{kind: "switch", o: "o:siemens:ruggedcom_rugged_operating_system"},
	},
	"router": {
		{kind: "router", o: "o:cisco:ios_xr"},
		{kind: "router", o: "o:cisco:ios"},
	},
	"ind-router": {
		{kind: "router", o: "o:moxa:edr-810_firmware"},
	},
	"cell-gateway": {
		{kind: "gateway", h: "h:sierrawireless:raven_xt", o: "o:sierrawireless:aleos_firmware"},
		{kind: "gateway", o: "o:sierrawireless:airlink_es450_firmware"},
		{kind: "gateway", o: "o:teltonika:rut950_firmware"},
		{kind: "gateway", o: "o:moxa:oncell_g3150-hspa_firmware", version: "1.6"},
	},
	"vehicle-gateway": {
		{kind: "gateway", h: "h:sierrawireless:airlink_mp_verizon", o: "o:sierrawireless:aleos_firmware"},
		{kind: "gateway", o: "o:teltonika:rut955_firmware", version: "00.03.250"},
	},
	"ami-collector": {
		{kind: "gateway", h: "h:sierrawireless:raven_x", o: "o:sierrawireless:raven_x_ev-do_firmware"},
	},
	"serial-server": {
		{kind: "gateway", o: "o:moxa:nport_5100_series_firmware", version: "2.6"},
		{kind: "gateway", o: "o:advantech:eki-1321_series_firmware", version: "1.96"},
	},
	"io": {
		{kind: "sensor", o: "o:moxa:iologik_e1200_series_firmware", version: "2.5"},
		{kind: "sensor", o: "o:moxa:iologik_e2200_series_firmware", version: "3.12"},
	},
	"firewall": {
		{kind: "firewall", h: "h:fortinet:fortigate-600c", o: "o:fortinet:fortios"},
		{kind: "firewall", o: "o:paloaltonetworks:pan-os"},
		{kind: "firewall", h: "h:cisco:asa_5500", o: "o:cisco:adaptive_security_appliance_software"},
	},
	"vpn": {
		{kind: "gateway", o: "o:citrix:netscaler_gateway_firmware"},
		{kind: "gateway", a: "a:ivanti:connect_secure"},
	},
	"access-point": {
		{kind: "access-point", h: "h:d-link:dap_2253", o: "o:d-link:dap_2253_firmware", version: "1.25"},
		{kind: "access-point", o: "o:moxa:awk-3131a_firmware"},
	},
	"wlc": {
		{kind: "switch", o: "o:cisco:wireless_lan_controller_software"},
	},
	"server": {
		{kind: "server", o: "o:microsoft:windows_server_2016"},
		{kind: "server", o: "o:microsoft:windows_server_2012"},
		{kind: "server", o: "o:microsoft:windows_server_2008"},
		{kind: "server", o: "o:microsoft:windows_server_2019", version: "10.0.17763.1935"},
	},
	"hypervisor": {
		{kind: "server", o: "o:vmware:esxi"},
		{kind: "server", h: "h:cisco:unified_computing_system", o: "o:vmware:esxi"},
	},
	"vcenter": {
		{kind: "application", a: "a:vmware:vcenter_server"},
	},
	"workstation": {
		{kind: "workstation", o: "o:microsoft:windows_10"},
		{kind: "workstation", o: "o:microsoft:windows_7", a: "a:microsoft:internet_explorer"},
	},
	"tablet": {
		{kind: "workstation", o: "o:motorola:android"},
		{kind: "workstation", o: "o:microsoft:windows_10"},
	},
	"backup": {
		{kind: "server", o: "o:microsoft:windows_server_2012", a: "a:vmware:vsphere_data_protection"},
	},
	"nas": {
		{kind: "storage", o: "o:zyxel:nsa325_v2_firmware"},
	},
	"sharepoint": {
		{kind: "server", o: "o:microsoft:windows_server_2012", a: "a:microsoft:sharepoint_server"},
	},
	"ucm": {
		{kind: "server", a: "a:cisco:unified_communications_manager"},
	},
	"phone": {
		{kind: "phone", vendor: "cisco", product: "ip_phone_8841", version: "12.8.1"},
	},
	"web-app": {
		{kind: "application", o: "o:microsoft:windows_server_2016", a: "a:vmware:spring_framework", purl: "pkg:maven/org.springframework/spring-core@%s"},
	},
	"secure-web-app": {
		{kind: "application", o: "o:microsoft:windows_server_2016", a: "a:vmware:spring_security", purl: "pkg:maven/org.springframework.security/spring-security-core@%s"},
	},
	"message-queue": {
		{kind: "application", a: "a:vmware:rabbitmq", purl: "pkg:generic/rabbitmq-server@%s"},
	},
	"waf": {
		{kind: "firewall", a: "a:fortinet:fortiweb"},
	},
	"siem": {
		{kind: "server", a: "a:fortinet:fortianalyzer"},
	},
	"fw-manager": {
		{kind: "server", a: "a:fortinet:fortimanager"},
	},
	"nac": {
		{kind: "server", a: "a:cisco:identity_services_engine_software"},
	},
	"vdi": {
		{kind: "server", a: "a:citrix:xenapp"},
		{kind: "server", a: "a:citrix:xendesktop"},
		{kind: "server", a: "a:vmware:horizon_view"},
	},
	"app-server": {
		{kind: "server", o: "o:microsoft:windows_server_2012", a: "a:microsoft:.net_framework"},
	},
	"db": {
		{kind: "server", o: "o:microsoft:windows_server_2016"},
		{kind: "server", o: "o:microsoft:windows_server_2012"},
	},
	"cad": {
		{kind: "server", o: "o:microsoft:windows_server_2012", vendor: "tidewater-dispatch", product: "cad-server", version: "7.4"},
	},
	"tos": {
		{kind: "server", o: "o:microsoft:windows_server_2016", a: "a:vmware:spring_framework", vendor: "harborline", product: "terminal-os", version: "3.8", purl: "pkg:maven/org.springframework/spring-core@%s"},
	},
	"bas": {
		{kind: "controller", o: "o:honeywell:xl_web_ii_controller"},
		{kind: "controller", o: "o:trane:comfortlink_ii_firmware"},
	},
	"bas-server": {
		{kind: "server", a: "a:tridium:niagara_ax"},
		{kind: "server", a: "a:johnsoncontrols:metsys"},
		{kind: "server", a: "a:carrier:automatedlogic_webctrl"},
	},
	"access-panel": {
		{kind: "controller", o: "o:honeywell:tuxedo_touch", version: "5.1.13.0_va"},
	},
	"dcim": {
		{kind: "server", a: "a:schneider-electric:struxureware_data_center_expert"},
	},
	"radio-site": {
		{kind: "radio", vendor: "motorola", product: "gtr_8000", version: "A2020.1"},
	},
	"portable-radio": {
		{kind: "radio", vendor: "motorola", product: "apx_6000", version: "R21.30"},
	},
	"ais": {
		{kind: "radio", vendor: "saab", product: "r5_supreme_ais", version: "2.3"},
	},
	"radar": {
		{kind: "sensor", vendor: "kelvin-hughes", product: "sharpeye", version: "5.1"},
	},
	"smart-meter": {
		{kind: "smart-meter", vendor: "itron", product: "openway_centron", version: "3.2"},
		{kind: "smart-meter", vendor: "landisgyr", product: "e350", version: "1.4"},
	},
	"water-meter": {
		{kind: "smart-meter", vendor: "sensus", product: "iperl", version: "2.1"},
	},
	"traffic-controller": {
		{kind: "traffic-controller", vendor: "econolite", product: "cobalt_atc", version: "32.64"},
		{kind: "traffic-controller", vendor: "mccain", product: "atc_ex", version: "2.1"},
	},
	"streetlight-node": {
		{kind: "sensor", vendor: "ge", product: "lightgrid_node", version: "4.0"},
	},
	"water-sensor": {
		{kind: "sensor", vendor: "hach", product: "sc200", version: "3.30"},
	},
	"level-sensor": {
		{kind: "sensor", vendor: "campbellsci", product: "cr1000x", version: "4.0"},
	},
	"medical": {
		{kind: "medical-device", vendor: "ge", product: "carescape_b650", version: "2.0"},
	},
	"ups": {
		{kind: "ups", vendor: "schneider-electric", product: "smart-ups_srt", version: "09.1"},
		{kind: "ups", vendor: "eaton", product: "9px", version: "2.0"},
	},
	"kiosk": {
		{kind: "workstation", o: "o:microsoft:windows_7"},
	},
}

// resolveDevices fills each device's CPE names, version, vendor, product
// and PURLs from the catalog. Versions come from the catalog's example
// vulnerable CPE where there is one, so the demo city produces real
// findings.
func resolveDevices() error {
	for role, opts := range roles {
		for i := range opts {
			if err := resolveDevice(&opts[i]); err != nil {
				return fmt.Errorf("device role %s option %d: %w", role, i, err)
			}
		}
	}
	return nil
}

func resolveDevice(d *device) error {
	var h, o, a Product
	get := func(key string) (Product, error) {
		if key == "" {
			return Product{}, nil
		}
		if p, ok := lookup(key); ok {
			return p, nil
		}
		return Product{}, fmt.Errorf("%s is not in the product catalog", key)
	}
	var err error
	if h, err = get(d.h); err != nil {
		return err
	}
	if o, err = get(d.o); err != nil {
		return err
	}
	if a, err = get(d.a); err != nil {
		return err
	}
	// The main product is the most specific thing the asset is: an
	// application, else the firmware, else the hardware.
	main := a
	if main.Part == "" {
		main = o
	}
	if main.Part == "" {
		main = h
	}
	version := d.version
	if v, _ := main.ExampleVersion(); v != "" {
		version = v
	} else if v, _ := o.ExampleVersion(); v != "" && main.Part != "a" {
		version = v
	}
	if main.Part != "" && version == "" {
		if v, _ := h.ExampleVersion(); v != "" {
			version = v
		} else {
			return fmt.Errorf("no version for %s", main.Key())
		}
	}
	cpe := func(p Product, ver string) string {
		if p.ExampleCPE != "" {
			return p.ExampleCPE
		}
		if ver == "" {
			ver = "-"
		}
		return "cpe:2.3:" + p.Part + ":" + p.Vendor + ":" + p.Product + ":" + quoteCPE(strings.ToLower(ver)) + ":*:*:*:*:*:*:*"
	}
	d.cpes = d.cpes[:0]
	if h.Part != "" {
		// NVD names hardware with version "-" (not applicable) unless the
		// catalog's example says otherwise.
		d.cpes = append(d.cpes, cpe(h, "-"))
	}
	if o.Part != "" {
		ver := version
		if a.Part != "" {
			ver = "" // the platform under an application: use the example or "-"
		}
		d.cpes = append(d.cpes, cpe(o, ver))
	}
	if a.Part != "" {
		d.cpes = append(d.cpes, cpe(a, version))
	}
	d.ver = version
	d.vend, d.prod = unquoteCPE(main.Vendor), unquoteCPE(main.Product)
	if d.vendor != "" {
		d.vend, d.prod = d.vendor, d.product
		if d.version != "" {
			d.ver = d.version // the displayed product's own version
		}
	}
	if main.Part == "" && d.version == "" {
		return fmt.Errorf("device %s/%s has no version", d.vendor, d.product)
	}
	if d.purl != "" {
		d.purls = []string{fmt.Sprintf(d.purl, strings.ReplaceAll(version, " ", "%20"))}
	}
	return nil
}
