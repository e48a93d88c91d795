"""Hardware interfaces. `hal/sim` behaves like the device and is driven from tests and from
the admin-only simulation API; `hal/linux` uses real hardware where a machine has it."""
