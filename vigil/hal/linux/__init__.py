"""Hardware backends for a real Linux machine: block devices and md RAID (`disks`)."""
