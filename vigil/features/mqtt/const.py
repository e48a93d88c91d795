"""Names and limits of the MQTT chapter: the VAPIX MQTT APIs' error codes, the event topics the
client declares, the rule action, where settings are kept, and the limits."""

from __future__ import annotations

from vigil.features.certificates.const import MAX_ALIAS

# Error codes shared by /axis-cgi/mqtt/client.cgi and /axis-cgi/mqtt/event.cgi.

CLIENT_VERSIONS = ["1.0"]  # /axis-cgi/mqtt/client.cgi, the MQTT client API
BRIDGE_VERSIONS = ["1.2"]  # /axis-cgi/mqtt/event.cgi, the MQTT event bridge API

# Event topics
STATELESS = "tnsaxis:MQTT/Message/Stateless"
STATEFUL = "tnsaxis:MQTT/Message/Stateful"
CLIENT_STATUS = "tns1:Device/tnsaxis:MQTT/ClientStatus"

# The rule action "Send MQTT publish message"
ACTION = "com.axis.action.fixed.mqttpublish"
ACTION_PARAMS = ("Topic", "QoS", "Retained", "Payload")

# Settings in the key-value table
KV_CLIENT, KV_PASSWORD, KV_ACTIVE = "mqtt.client", "mqtt.password", "mqtt.active"
KV_PUBLICATION, KV_SUBSCRIPTIONS = "mqtt.publication", "mqtt.subscriptions"
KV_BROKER = "mqtt.onvifBroker"  # the ONVIF event broker's publication (Profile M)

PROTOCOLS = {"tcp": 1883, "ssl": 8883, "ws": 80, "wss": 443}
RETAIN_POLICIES = ("none", "property", "all")
MAX_TOPIC = 1024  # bytes of UTF-8, for topics and topic filters
MAX_PAYLOAD = 8192  # characters of an action payload or a connect/LWT message; bytes of a received message
MAX_FILTERS = 100  # event publication filters, and MQTT subscriptions
MAX_REQUEST = 128 * 1024  # bytes of JSON params
MAX_NAME = 255  # host, proxy, ALPN protocol, user name, password, client id
MAX_CERT_ID = MAX_ALIAS  # characters of a certificate id (an alias of the keystore)
