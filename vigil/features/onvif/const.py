"""The ONVIF feature's names: namespaces, service paths, access classes, fault subcodes, limits."""

from __future__ import annotations

from lxml import etree

from vigil.core.roles import Role

# -- namespaces ------------------------------------------------------------------------------
TDS = "http://www.onvif.org/ver10/device/wsdl"
TRT = "http://www.onvif.org/ver10/media/wsdl"
TR2 = "http://www.onvif.org/ver20/media/wsdl"
TEV = "http://www.onvif.org/ver10/events/wsdl"
TSE = "http://www.onvif.org/ver10/search/wsdl"
TRC = "http://www.onvif.org/ver10/recording/wsdl"
TRP = "http://www.onvif.org/ver10/replay/wsdl"
TMD = "http://www.onvif.org/ver10/deviceIO/wsdl"
WSNT = "http://docs.oasis-open.org/wsn/b-2"
WSTOP = "http://docs.oasis-open.org/wsn/t-1"
WSA = "http://www.w3.org/2005/08/addressing"
WSRF_RW = "http://docs.oasis-open.org/wsrf/rw-2"
TT = "http://www.onvif.org/ver10/schema"
TER = "http://www.onvif.org/ver10/error"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PASSWORD_DIGEST = ("http://docs.oasis-open.org/wss/2004/01/"
                   "oasis-200401-wss-username-token-profile-1.0#PasswordDigest")
PASSWORD_TEXT = ("http://docs.oasis-open.org/wss/2004/01/"
                 "oasis-200401-wss-username-token-profile-1.0#PasswordText")
REPLY_NAMESPACES = {"tds": TDS, "trt": TRT, "tr2": TR2, "tev": TEV, "tse": TSE, "trc": TRC, "trp": TRP, "tmd": TMD,
                    "tt": TT, "ter": TER, "wsa": WSA}
# Prefixes replies use inside text (topics `tns1:Device/...`, item types `xsd:int`): kept declared.
TEXT_PREFIXES = ("tns1", "tnsaxis", "xsd", "tt")

# -- services (clients take the addresses from GetServices/GetCapabilities; onvif-zeep-async
# hard-codes the device service's) --------------------------------------------------------
DEVICE_PATH = "/onvif/device_service"
MEDIA_PATH = "/onvif/media_service"
MEDIA2_PATH = "/onvif/media2_service"
EVENTS_PATH = "/onvif/events_service"
SEARCH_PATH = "/onvif/search_service"
RECORDING_PATH = "/onvif/recording_service"
REPLAY_PATH = "/onvif/replay_service"
DEVICEIO_PATH = "/onvif/deviceio_service"
PULL_POINT_PATH = "/onvif/pullpoint/{subscription}"  # one address per PullPoint subscription
VERSION = (2, 40)  # the ONVIF version of the WSDLs served (devicemgmt.wsdl, media.wsdl 2.4.2)
EVENTS_VERSION = (2, 30)  # events.wsdl 2.3
SEARCH_VERSION = (2, 42)  # search.wsdl 2.4.2
RECORDING_VERSION = (2, 42)  # recording.wsdl 2.4.2
REPLAY_VERSION = (2, 21)  # replay.wsdl 2.2.1
DEVICEIO_VERSION = (2, 41)  # deviceio.wsdl 2.4.1
MEDIA2_VERSION = (26, 6)  # Media2's WSDL (wsdl/specs/ver20/media/wsdl/media.wsdl 26.06)

# -- access classes (ONVIF Core, "Default Access Policy") --------------------------------------
PRE_AUTH = "PRE_AUTH"
READ_SYSTEM = "READ_SYSTEM"
READ_SYSTEM_SENSITIVE = "READ_SYSTEM_SENSITIVE"
READ_SYSTEM_SECRET = "READ_SYSTEM_SECRET"
WRITE_SYSTEM = "WRITE_SYSTEM"
UNRECOVERABLE = "UNRECOVERABLE"
READ_MEDIA = "READ_MEDIA"
ACTUATE = "ACTUATE"
# The least Vigil role whose ONVIF user level holds the class: administrator = Administrator,
# operator = Operator (all but the secrets, system writes and the unrecoverable), viewer = User
# (the manual's media account), anonymous = the PRE_AUTH operations only.
CLASS_ROLE = {PRE_AUTH: Role.ANONYMOUS, READ_SYSTEM: Role.VIEWER, READ_MEDIA: Role.VIEWER,
              READ_SYSTEM_SENSITIVE: Role.OPERATOR, ACTUATE: Role.OPERATOR,
              READ_SYSTEM_SECRET: Role.ADMIN, WRITE_SYSTEM: Role.ADMIN, UNRECOVERABLE: Role.ADMIN}
USER_LEVEL = {Role.ADMIN: "Administrator", Role.OPERATOR: "Operator", Role.VIEWER: "User"}
ROLE_OF_LEVEL = {level: role for role, level in USER_LEVEL.items()}

# -- faults ---------------------------------------------------------------------------------
NOT_AUTHORIZED = etree.QName(TER, "NotAuthorized")
ACTION_NOT_SUPPORTED = etree.QName(TER, "ActionNotSupported")
INVALID_ARG_VAL = etree.QName(TER, "InvalidArgVal")
OPERATION_PROHIBITED = etree.QName(TER, "OperationProhibited")

# -- WS-Security ------------------------------------------------------------------------------
TIME_WINDOW = 300.0  # seconds a UsernameToken's Created may differ from the device's time
MAX_NONCES = 10_000  # nonces remembered within the window; past it the oldest are forgotten

# -- events ---------------------------------------------------------------------------------
CONCRETE_SET = "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet"
CONCRETE = "http://docs.oasis-open.org/wsn/t-1/TopicExpression/Concrete"
ITEM_FILTER = "http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter"
MAX_PULL_POINTS = 16  # subscriptions at a time
MAX_QUEUE = 1000  # events kept per subscription between two pulls; older ones are dropped
MAX_PULL_TIMEOUT = 600.0  # seconds a PullMessages may wait
MAX_MESSAGE_LIMIT = 1000
DEFAULT_TERMINATION = 60.0  # seconds, when CreatePullPointSubscription names no InitialTerminationTime
MAX_TERMINATION = 86_400.0

# -- recording search ------------------------------------------------------------------------
MAX_SEARCHES = 16  # searches kept at a time
MAX_KEEP_ALIVE = 3600.0  # seconds a search is kept without a call
