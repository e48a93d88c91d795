"""Names and limits of the VAPIX event service (event1) and action service (action1)."""

from __future__ import annotations

from vigil.http.soap import NAMESPACES

PATH = "/vapix/services"  # both services, one SOAP endpoint
EV = NAMESPACES["aev"]  # http://www.axis.com/vapix/ws/event1
AA = NAMESPACES["aa"]  # http://www.axis.com/vapix/ws/action1
MAX_NAME = 128  # characters of a rule, action configuration or recipient name
MAX_PARAMETERS = 64  # Parameter elements of one action or recipient configuration
MAX_PARAMETER_VALUE = 8192  # characters of one parameter value
