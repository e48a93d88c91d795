"""Hardware backends for a real Linux machine: block devices and md RAID (`disks`), the network
interface (`network`), the Bluetooth LE radio through BlueZ (`ble`),
the wireless interface through NetworkManager (`wlan`)."""
