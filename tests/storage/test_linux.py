"""The Linux disk backend: parsers of `mdadm --detail`, /proc/mdstat and `smartctl` output
(fixtures written from the tools' documented formats), the backend over a fake /sys/block and
a fake command runner, the real /sys/block of this machine, and, where the kernel allows it,
a real md RAID 5 over loop devices."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from vigil.hal.disks import DiskError
from vigil.hal.linux.disks import (
    LinuxDisks,
    block_devices,
    parse_mdadm_detail,
    parse_mdstat,
    parse_smartctl,
)

MDADM_DEGRADED_RECOVERING = """/dev/md0:
           Version : 1.2
     Creation Time : Mon Jan  6 10:12:41 2025
        Raid Level : raid5
        Array Size : 11720658944 (10.92 TiB 12.00 TB)
     Used Dev Size : 3906886314 (3.64 TiB 4.00 TB)
      Raid Devices : 4
     Total Devices : 4
       Persistence : Superblock is persistent

     Intent Bitmap : Internal

       Update Time : Tue Jan  7 08:00:01 2025
             State : clean, degraded, recovering
    Active Devices : 3
   Working Devices : 4
    Failed Devices : 0
     Spare Devices : 1

            Layout : left-symmetric
        Chunk Size : 512K

Consistency Policy : bitmap

    Rebuild Status : 42% complete

              Name : vigil:0  (local to host vigil)
              UUID : 3b2f6a1c:8e7d4f20:9a1b2c3d:4e5f6a7b
            Events : 1234

    Number   Major   Minor   RaidDevice State
       0       8       16        0      active sync   /dev/sdb
       1       8       32        1      active sync   /dev/sdc
       4       8       48        2      spare rebuilding   /dev/sdd
       3       8       64        3      active sync   /dev/sde
"""

MDADM_FAULTY = """/dev/md0:
           Version : 1.2
        Raid Level : raid5
        Array Size : 11720658944 (10.92 TiB 12.00 TB)
      Raid Devices : 4
     Total Devices : 4
             State : clean, degraded
              UUID : 3b2f6a1c:8e7d4f20:9a1b2c3d:4e5f6a7b

    Number   Major   Minor   RaidDevice State
       0       8       16        0      active sync   /dev/sdb
       -       0        0        1      removed
       2       8       48        2      active sync   /dev/sdd
       3       8       64        3      active sync   /dev/sde

       1       8       32        -      faulty   /dev/sdc
"""

MDADM_FAILED = """/dev/md0:
        Raid Level : raid5
        Array Size : 11720658944 (10.92 TiB 12.00 TB)
      Raid Devices : 4
             State : clean, FAILED
              UUID : 3b2f6a1c:8e7d4f20:9a1b2c3d:4e5f6a7b

    Number   Major   Minor   RaidDevice State
       0       8       16        0      active sync   /dev/sdb
       -       0        0        1      removed
       -       0        0        2      removed
       3       8       64        3      active sync   /dev/sde

       1       8       32        -      faulty   /dev/sdc
       2       8       48        -      faulty   /dev/sdd
"""

MDADM_RESYNC = """/dev/md0:
        Raid Level : raid6
        Array Size : 7813772288 (7.28 TiB 8.00 TB)
      Raid Devices : 4
             State : clean, resyncing
     Resync Status : 7% complete
              UUID : aa:bb:cc:dd

    Number   Major   Minor   RaidDevice State
       0       8       16        0      active sync   /dev/sdb
       1       8       32        1      active sync   /dev/sdc
       2       8       48        2      active sync   /dev/sdd
       3       8       64        3      active sync   /dev/sde
"""

MDSTAT = """Personalities : [raid6] [raid5] [raid4] [raid1] [raid10] [raid0]
md0 : active raid5 sde[3] sdd[4] sdc[1] sdb[0]
      11720658944 blocks super 1.2 level 5, 512k chunk, algorithm 2 [4/3] [UU_U]
      [========>............]  recovery = 42.3% (1652345856/3906886314) finish=210.5min speed=178456K/sec
      bitmap: 0/30 pages [0KB], 65536KB chunk

md1 : active raid1 sdg[1] sdf[0](F)
      976630464 blocks super 1.2 [2/1] [_U]

unused devices: <none>
"""

SMART_ATA = """smartctl 7.3 2022-02-28 r5338 [x86_64-linux-6.1.0-18-amd64] (local build)
Copyright (C) 2002-22, Bruce Allen, Christian Franke, www.smartmontools.org

=== START OF INFORMATION SECTION ===
Model Family:     Western Digital Purple
Device Model:     WDC WD40PURZ-85AKKY0
Serial Number:    WD-WX12D34E5F6G
LU WWN Device Id: 5 0014ee 2b1234567
Firmware Version: 80.00A80
User Capacity:    4,000,787,030,016 bytes [4.00 TB]
Sector Sizes:     512 bytes logical, 4096 bytes physical
Rotation Rate:    5400 rpm
SMART support is: Available - device has SMART capability.
SMART support is: Enabled

=== START OF READ SMART DATA SECTION ===
SMART overall-health self-assessment test result: PASSED

SMART Attributes Data Structure revision number: 16
Vendor Specific SMART Attributes with Thresholds:
ID# ATTRIBUTE_NAME          FLAG     VALUE WORST THRESH TYPE      UPDATED  WHEN_FAILED RAW_VALUE
  1 Raw_Read_Error_Rate     0x002f   200   200   051    Pre-fail  Always       -       0
  9 Power_On_Hours          0x0032   097   097   000    Old_age   Always       -       2345
194 Temperature_Celsius     0x0022   112   104   000    Old_age   Always       -       38 (Min/Max 20/45)
197 Current_Pending_Sector  0x0032   200   200   000    Old_age   Always       -       0
"""

SMART_ATA_FAILING = SMART_ATA.replace("test result: PASSED", "test result: FAILED!\nDrive failure expected in "
                                      "less than 24 hours. SAVE ALL DATA.")

SMART_NVME = """=== START OF INFORMATION SECTION ===
Model Number:                       Samsung SSD 980 PRO 1TB
Serial Number:                      S5GXNF0R123456
Firmware Version:                   5B2QGXA7
Total NVM Capacity:                 1,000,204,886,016 [1.00 TB]

=== START OF SMART DATA SECTION ===
SMART overall-health self-assessment test result: PASSED

SMART/Health Information (NVMe Log 0x02)
Critical Warning:                   0x00
Temperature:                        41 Celsius
Available Spare:                    100%
Power On Hours:                     1,234
"""

SMART_SAS = """=== START OF INFORMATION SECTION ===
Vendor:               SEAGATE
Product:              ST4000NM0023
Serial number:        Z1Z2Z3Z4
User Capacity:        4,000,787,030,016 bytes [4.00 TB]

=== START OF READ SMART DATA SECTION ===
SMART Health Status: OK

Current Drive Temperature:     35 C
Accumulated power on time, hours:minutes 12000:30
"""


def test_mdadm_detail_of_a_recovering_array() -> None:
    detail = parse_mdadm_detail(MDADM_DEGRADED_RECOVERING)
    assert (detail.device, detail.level, detail.raid_devices) == ("/dev/md0", 5, 4)
    assert detail.array_size == 11720658944 * 1024 and detail.rebuild_percent == 42.0
    assert detail.state == "clean, degraded, recovering" and detail.uuid.startswith("3b2f6a1c")
    assert [(m.raid_device, m.state, m.device) for m in detail.members] == [
        (0, "active sync", "/dev/sdb"), (1, "active sync", "/dev/sdc"), (2, "spare rebuilding", "/dev/sdd"),
        (3, "active sync", "/dev/sde")]


def test_mdadm_detail_with_removed_and_faulty_members() -> None:
    detail = parse_mdadm_detail(MDADM_FAULTY)
    assert [(m.number, m.raid_device, m.state, m.device) for m in detail.members] == [
        ("0", 0, "active sync", "/dev/sdb"), ("-", 1, "removed", ""), ("2", 2, "active sync", "/dev/sdd"),
        ("3", 3, "active sync", "/dev/sde"), ("1", None, "faulty", "/dev/sdc")]


def test_mdstat() -> None:
    md0, md1 = parse_mdstat(MDSTAT)
    assert (md0.name, md0.active, md0.level, md0.devices) == ("md0", True, 5, ["sde", "sdd", "sdc", "sdb"])
    assert md0.progress == 42.3 and md0.finish_seconds == pytest.approx(210.5 * 60)
    assert (md1.level, md1.devices, md1.progress) == (1, ["sdg", "sdf"], None)


@pytest.mark.parametrize(("text", "expected"), [
    (SMART_ATA, ("WDC WD40PURZ-85AKKY0", "WD-WX12D34E5F6G", 4000787030016, "passed", 38.0, 2345)),
    (SMART_ATA_FAILING, ("WDC WD40PURZ-85AKKY0", "WD-WX12D34E5F6G", 4000787030016, "failed", 38.0, 2345)),
    (SMART_NVME, ("Samsung SSD 980 PRO 1TB", "S5GXNF0R123456", 1000204886016, "passed", 41.0, 1234)),
    (SMART_SAS, ("ST4000NM0023", "Z1Z2Z3Z4", 4000787030016, "passed", 35.0, 12000)),
])
def test_smartctl(text: str, expected: tuple) -> None:
    info = parse_smartctl(text)
    assert (info.model, info.serial, info.capacity, info.health, info.temperature, info.power_on_hours) == expected


def fake_sys_block(root: Path, names: list[str]) -> Path:
    for n, name in enumerate(names):
        folder = root / name
        (folder / "device").mkdir(parents=True)
        (folder / "queue").mkdir()
        (folder / "size").write_text(str(7814037168))  # 512-byte sectors of a 4 TB drive
        (folder / "device" / "model").write_text("WDC WD40PURZ\n")
        (folder / "serial").write_text(f"SYS{n}\n")
        (folder / "queue" / "rotational").write_text("1\n")
    for skipped in ("loop0", "md0", "zram0"):
        (root / skipped).mkdir()
        (root / skipped / "size").write_text("100")
    return root


class Runner:
    def __init__(self, detail: str) -> None:
        self.detail = detail
        self.calls: list[list[str]] = []

    def __call__(self, args: list[str]) -> tuple[int, str, str]:
        self.calls.append(args)
        if args[:2] == ["mdadm", "--detail"]:
            return (0, self.detail, "") if self.detail else (1, "", "mdadm: cannot open /dev/md0")
        if args[0] == "smartctl":
            device = args[-1]
            text = SMART_ATA_FAILING if device == "/dev/sdc" else SMART_ATA
            return 0, text.replace("WD-WX12D34E5F6G", f"WD-{device[-3:].upper()}"), ""
        if args[:2] == ["mdadm", "--create"]:
            self.detail = MDADM_RESYNC
            return 0, "", ""
        return 0, "", ""


def test_backend_reads_drives_and_the_array(tmp_path: Path) -> None:
    sys_block = fake_sys_block(tmp_path / "sys", ["sdb", "sdc", "sdd", "sde"])
    (tmp_path / "mdstat").write_text(MDSTAT)
    runner = Runner(MDADM_DEGRADED_RECOVERING)
    disks = LinuxDisks(["/dev/sdb", "/dev/sdc", "/dev/sdd", "/dev/sde"], "/dev/md0", (0, 1, 5, 6, 10), runner,
                       sys_block, tmp_path / "mdstat")
    drives = disks.drives()
    assert [(d.slot, d.status, d.serial, d.health) for d in drives] == [
        (0, "online", "WD-SDB", "passed"), (1, "online", "WD-SDC", "failed"), (2, "rebuilding", "WD-SDD", "passed"),
        (3, "online", "WD-SDE", "passed")]
    assert drives[0].temperature == 38.0 and drives[0].capacity == 4000787030016
    array = disks.array()
    assert (array.level, array.state, array.members) == (5, "syncing", (0, 1, 2, 3))
    assert array.sync_progress == 42.3 and array.sync_remaining == pytest.approx(12630)
    assert disks.health_test(1) == "failed"

    runner.detail = MDADM_FAULTY
    disks.forget()  # the tools' answers are cached for a moment
    assert disks.array().state == "degraded"
    assert [d.status for d in disks.drives()] == ["online", "failed", "online", "online"]
    runner.detail = MDADM_FAILED
    disks.forget()
    assert disks.array().state == "failed"
    seen = []
    disks.watch(lambda: seen.append(1))
    disks.poll()
    runner.detail = MDADM_DEGRADED_RECOVERING
    disks.poll()
    assert len(seen) == 2


def test_backend_creates_arrays_only_over_configured_bays(tmp_path: Path) -> None:
    sys_block = fake_sys_block(tmp_path / "sys", ["sdb", "sdc", "sdd", "sde"])
    runner = Runner("")
    unconfigured = LinuxDisks([], "/dev/md0", (5,), runner, sys_block, tmp_path / "none")
    assert [d.status for d in unconfigured.drives()] == ["online"] * 4  # listed read-only, no array
    assert unconfigured.array() is None
    with pytest.raises(DiskError, match="No drive bays are configured"):
        unconfigured.create(5, [0, 1, 2])
    disks = LinuxDisks(["sdb", "sdc", "sdd", "sde"], "/dev/md0", (0, 1, 5, 6, 10), runner, sys_block,
                       tmp_path / "none")
    with pytest.raises(DiskError, match="RAID 6 needs at least 4 drives"):
        disks.create(6, [0, 1, 2])
    array = disks.create(6, [0, 1, 2, 3])
    assert ["mdadm", "--create", "/dev/md0", "--run", "--force", "--level=6", "--raid-devices=4", "/dev/sdb",
            "/dev/sdc", "/dev/sdd", "/dev/sde"] in runner.calls
    assert (array.level, array.state, array.sync_progress) == (6, "syncing", 7.0)


def test_this_machines_block_devices() -> None:
    devices = block_devices()
    assert all(not d.name.startswith(("loop", "ram", "zram", "md")) for d in devices)
    assert all(d.size > 0 for d in devices if Path(f"/sys/block/{d.name}/size").read_text().strip() != "0")
    disks = LinuxDisks()
    drives = disks.drives()  # smartctl may not know the device type (virtio): health unknown
    assert len(drives) == len(devices)
    assert all(d.health in ("passed", "failed", "unknown") for d in drives)


@pytest.fixture
def loop_devices(tmp_path: Path):
    if os.geteuid() != 0 or not shutil.which("losetup") or not shutil.which("mdadm"):
        pytest.skip("needs root, losetup and mdadm")
    if not Path("/proc/mdstat").exists():
        pytest.skip("the kernel has no md driver (no /proc/mdstat)")
    made = []
    try:
        for n in range(4):
            image = tmp_path / f"drive{n}.img"
            with open(image, "wb") as f:
                f.truncate(24 << 20)
            out = subprocess.run(["losetup", "-f", "--show", str(image)], capture_output=True, text=True)
            if out.returncode != 0:
                pytest.skip(f"losetup refused: {out.stderr.strip()}")
            made.append(out.stdout.strip())
        yield made
    finally:
        subprocess.run(["mdadm", "--stop", "/dev/md/vigiltest"], capture_output=True)
        for device in made:
            subprocess.run(["mdadm", "--zero-superblock", device], capture_output=True)
            subprocess.run(["losetup", "-d", device], capture_output=True)


def test_real_md_raid5_over_loop_devices(loop_devices: list[str]) -> None:
    disks = LinuxDisks(loop_devices, "/dev/md/vigiltest", (0, 1, 5, 6, 10))
    try:
        array = disks.create(5, [0, 1, 2, 3])
    except DiskError as err:
        pytest.skip(f"the kernel refused an md array here: {err}")
    assert array.level == 5 and array.state in ("online", "syncing")
    subprocess.run(["mdadm", "/dev/md/vigiltest", "--fail", loop_devices[1]], check=True, capture_output=True)
    assert disks.array().state in ("degraded", "syncing")
    assert disks.drives()[1].status == "failed"
