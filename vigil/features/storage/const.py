"""The names storage shares with the rest of the device and with its clients: volume ids, event
topics, parameter names, stored keys, limits, and the error codes of its APIs (VAPIX disk
management, disk properties, network share and RAID management, and Vigil's storage.cgi).
"""

from __future__ import annotations

# -- volumes ---------------------------------------------------------------------------------
NETWORK = "NetworkShare"  # the volume a bound network share records to

# -- event topics ------------------------------------------------------------------------------
DISRUPTION = "tnsaxis:Storage/Disruption"
FAILURE = "tns1:Device/tnsaxis:HardwareFailure/StorageFailure"
FAILURE_ONVIF = "tns1:Device/HardwareFailure/StorageFailure"
RAID = "tnsaxis:Storage/RAID"
RAID_STATE_TOPICS = {"online": "RAIDActive", "degraded": "RAIDDegraded", "syncing": "RAIDSyncing",
                     "failed": "RAIDFailure"}
RAID_API_STATE = {"online": "active", "degraded": "degraded", "syncing": "syncing", "failed": "failure"}
ALERT = "tnsaxis:Storage/Alert"
RECORDING_ONGOING = "tnsaxis:Storage/Recording"
RECORDER_STATE = "tns1:RecordingHistory/Recording/State"

# -- parameters of a volume's group (Storage.S<n>.<name>) --------------------------------------
FRIENDLY_NAME = "FriendlyName"
CLEANUP_MAX_AGE = "CleanupMaxAge"
CLEANUP_POLICY = "CleanupPolicyActive"
CLEANUP_LEVEL = "CleanupLevel"
REQUIRED_FS = "RequiredFileSystem"
OFFLINE_BUFFER_MB = "OfflineBufferMB"  # NetworkShare only
MAX_AGE_DAYS = 7000  # the largest CleanupMaxAge
CLEANUP_POLICIES = ("fifo", "none")
REQUIRED_FILESYSTEMS = ("none", "ext4")

# -- stored state, limits, timing ----------------------------------------------------------------
KV_VOLUMES = "storage.volumes"
KV_SHARES = "storage.shares"
MAX_SHARES = 4
ALERT_KELVIN = 333  # 60 degrees C: a drive this hot raises tnsaxis:Storage/Alert
LOOP_SECONDS = 1.0
PROBE_TIMEOUT = 10.0  # seconds a share may take to answer before it counts as lost
MAX_JOB_DIGITS = 18  # a job id longer than this names no job (and is not parsed as a number)

# -- VAPIX disk management and disk properties -----------------------------------------------------
GENERAL_ERROR = 10
INVALID_VALUE = 20  # also the network share API's "invalid parameter"
UNSUPPORTED_SCHEMA = 40  # also the network share API's
NO_SUCH_DISK = 50
# Disk encryption (disk properties), used by storage.cgi as well.
NOT_SUPPORTED, INVALID_PASSPHRASE, INVALID_NEW_PASSPHRASE, WRONG_PASSPHRASE = 100, 110, 120, 130
ALREADY_ENABLED, UNMOUNTED, MOUNTED = 140, 150, 160

# -- VAPIX network share -------------------------------------------------------------------------
BAD_SHARE_ID, SHARE_ID_EXISTS, SHARE_NAME_EXISTS, TOO_MANY_SHARES = 200, 210, 220, 230
NO_FREE_DISK, ALREADY_BOUND = 300, 310
UNBIND_MOUNTED, REMOVE_BOUND, MODIFY_BOUND, RENAME_EXISTS = 400, 500, 600, 620
NO_SUCH_HOST, MOUNT_ERROR, INTERNAL_MOUNT_ERROR, WRITE_ERROR, READ_ERROR, CONNECT_ERROR = 700, 710, 720, 740, 750, 760

# -- RAID management (JSON, raid.cgi) ----------------------------------------------------------------
RAID_INTERNAL, RAID_REFUSED, RAID_LEVEL_UNSUPPORTED, RAID_CREATE_FAILED = 1100, 1200, 1201, 1202
RAID_BAD_JSON, RAID_UNKNOWN_METHOD, RAID_BAD_PARAMS, RAID_BAD_VERSION, RAID_WRONG_HTTP_METHOD = (
    2101, 2102, 2103, 2104, 2107)

# -- storage.cgi (JSON) ------------------------------------------------------------------------------
REFUSED = 1000  # the request is understood but refused: the message says why
