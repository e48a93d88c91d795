"""Names of the SNMP chapter: its parameters (as VAPIX spells them, plus Vigil's own), the
event topics it listens to, the object identifiers it serves and sends, and its limits."""

from __future__ import annotations

# -- parameters (VAPIX `SNMP.*`; the Device Configuration SNMP API maps onto the same settings) --
ENABLED = "SNMP.Enabled"
V1 = "SNMP.V1"
V2C = "SNMP.V2c"
V3 = "SNMP.V3"
READ_COMMUNITY = "SNMP.V1ReadCommunity"
WRITE_COMMUNITY = "SNMP.V1WriteCommunity"
DSCP = "SNMP.DSCP"
ENGINE_BOOTS = "SNMP.EngineBoots"
INITIAL_PASSWORD = "SNMP.InitialUserPasswd"
INITIAL_PASSWORD_SET = "SNMP.InitialUserPasswdSet"
TRAPS = "SNMP.Trap.Enabled"
TRAP_ADDRESS = "SNMP.Trap.T0.Address"
TRAP_COMMUNITY = "SNMP.Trap.T0.Community"
TRAP_AUTH_FAIL = "SNMP.Trap.T0.AuthFail.Enabled"
TRAP_COLD_START = "SNMP.Trap.T0.ColdStart.Enabled"
TRAP_WARM_START = "SNMP.Trap.T0.WarmStart.Enabled"
TRAP_LINK_UP = "SNMP.Trap.T0.LinkUp.Enabled"
TRAP_LINK_DOWN = "SNMP.Trap.T0.LinkDown.Enabled"
# Vigil's own: the protocols of the v3 user "initial" (VAPIX fixes none), and the two MIB-II
# objects a manager may write, kept across restarts.
INITIAL_AUTH = "SNMP.InitialUserAuthProtocol"
INITIAL_PRIV = "SNMP.InitialUserPrivProtocol"
CONTACT = "SNMP.SysContact"
LOCATION = "SNMP.SysLocation"
HOSTNAME = "Network.HostName"  # sysName (the network settings own it)

INITIAL_USER = "initial"
AUTH_PROTOCOLS = ("MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512")
PRIV_PROTOCOLS = ("DES", "AES", "AES192", "AES256")
PASSWORD_MIN, PASSWORD_MAX = 8, 50  # the Device Configuration API's UserPasswdType
COMMUNITY_MAX = 32
TRAP_PORT = 162
KV_BOOTS = "snmp.engine_boots"

# -- events the agent turns into traps (the storage feature publishes them on the bus) -------
DISRUPTION = "tnsaxis:Storage/Disruption"  # source disk_id, data disruption
RAID = "tnsaxis:Storage/RAID"  # data raidstate, raidlevel
ALERT = "tnsaxis:Storage/Alert"  # source disk_id, data temperature (kelvin), alert
NETWORK_LOST = "tns1:Device/tnsaxis:Network/Lost"  # source interface, data lost

# -- object identifiers --------------------------------------------------------------------------
MIB2 = (1, 3, 6, 1, 2, 1)
SYSTEM = MIB2 + (1,)
INTERFACES = MIB2 + (2,)
SNMP_GROUP = MIB2 + (11,)
HOST = MIB2 + (25,)  # HOST-RESOURCES-MIB
AXIS = (1, 3, 6, 1, 4, 1, 368)
AXIS_PRODUCT = AXIS + (1, 1)  # sysObjectID: a video product
AXIS_VIDEO = AXIS + (4,)  # AXIS-VIDEO-MIB
SNMP_TRAPS = (1, 3, 6, 1, 6, 3, 1, 1, 5)  # SNMPv2-MIB snmpTraps
COLD_START, WARM_START, LINK_DOWN, LINK_UP, AUTH_FAILURE = (SNMP_TRAPS + (n,) for n in range(1, 6))
ALARM_NEW = AXIS_VIDEO + (2, 0, 1)
ALARM_CLEARED = AXIS_VIDEO + (2, 0, 2)
ALARM_ID, ALARM_NAME, ALARM_TEXT = (AXIS_VIDEO + (2, n) for n in (1, 2, 3))
SYS_UPTIME_0 = SYSTEM + (3, 0)
SNMP_TRAP_OID_0 = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
IF_INDEX = INTERFACES + (2, 1, 1)
IF_ADMIN_STATUS, IF_OPER_STATUS = INTERFACES + (2, 1, 7), INTERFACES + (2, 1, 8)

# -- AXIS-VIDEO-MIB alarms: one id per kind, the text names the disk or sensor ---------------------
ALARM_STORAGE = 1  # storage disruption of a disk (alarmName "Edge Storage Operation")
ALARM_RAID = 2  # the RAID array left the online state
ALARM_TEMPERATURE = 3  # a drive is hotter than the storage alert limit

# -- limits ----------------------------------------------------------------------------------------
MAX_BULK_VARBINDS = 256  # varbinds in one GETBULK answer (pysnmp's default is 64)
