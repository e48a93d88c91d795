"""Names, bounds and error codes of the firmware management API (vapix.md §8) and the classic
firmwareupgrade.cgi."""

from __future__ import annotations

from vigil.release import package

FWMGR_PATH = "/axis-cgi/firmwaremanagement.cgi"
UPGRADE_CGI_PATH = "/axis-cgi/firmwareupgrade.cgi"
API_ID = "fwmgr"
API_VERSION = "1.3"  # Properties.FirmwareManagement.Version
VERSIONS = ["1.0"]  # the JSON apiVersion
MAX_PACKAGE = 256 * 1024 * 1024  # bytes of an uploaded release
HEALTH_TIMEOUT = 10.0  # seconds for the device to answer itself when it checks its health

FACTORY_MODES = ("none", "soft", "hard")
AUTO_COMMIT = ("never", "boot", "started", "default")

# General codes
BAD_REQUEST = 400
NOT_FOUND = 404
UNKNOWN_METHOD = 405
BAD_VERSION = 417
BUSY = 423
INTERNAL = 500

TEXTS = {
    BAD_REQUEST: "Message could not be parsed or contains unknown parameters or values",
    NOT_FOUND: "No old firmware exists",
    UNKNOWN_METHOD: "Unknown method in request",
    BAD_VERSION: "API version not compatible",
    BUSY: "System is busy with another firmware management request",
    INTERNAL: "Unexpected internal error",
    package.DOWNGRADE: "Upgrade without factory default not allowed to an older firmware version",
    package.REVOKED: "Upgrade failed due to firmware version revoked",
    package.UNCOMMITTED: "Upgrade not allowed due to active firmware is uncommitted",
    package.INVALID: "Upgrade failed due to invalid image",
    package.WRONG_DEVICE: "Upgrade failed due to image not matching device",
    package.SIGNATURE_MISSING: "Upgrade failed due to image missing a mandatory digital signature",
    package.UNKNOWN_CERTIFICATE: "Upgrade failed due to image referencing an unknown custom firmware certificate",
}
PURGE_UNCOMMITTED = "Active firmware is not committed"
