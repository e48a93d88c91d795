"""The VAPIX action service (action1, http://www.axis.com/vapix/ws/action1) at /vapix/services.

    GetActionTemplates, GetActionConfigurations, GetActionRules,
    GetRecipientTemplates, GetRecipientConfigurations                        operator
    AddActionConfiguration -> ConfigurationID, RemoveActionConfiguration,
    AddActionRule -> RuleID, RemoveActionRule,
    AddRecipientConfiguration -> ConfigurationID, RemoveRecipientConfiguration,
    TestRecipientConfiguration                                               admin

TestRecipientConfiguration (Vigil, the web page's Test button) takes either ConfigurationID (a
stored recipient) or NewRecipientConfiguration (settings not saved yet): an empty response when
the test message was delivered, a Receiver fault with the reason when it was not. Secrets in
configurations are shown to administrators only (`vigil.features.notify.store`). A recipient still
used by an action configuration cannot be removed.
"""

from __future__ import annotations

from lxml import etree

from vigil.core.auth import Principal
from vigil.core.events import EventBus
from vigil.core.logs import Logs
from vigil.core.roles import Role
from vigil.core.rules import Rule, RuleEngine
from vigil.features.events import filters
from vigil.features.events.const import AA
from vigil.features.events.http_soap import (
    name_of,
    parameter_list,
    parameters,
    refusals_as_faults,
)
from vigil.features.events.service import Events, format_duration, parse_duration
from vigil.features.notify.const import RECIPIENT_TEMPLATES
from vigil.features.notify.model import Recipient, RecipientError
from vigil.features.notify.service import NotifyService
from vigil.http.soap import SoapMessage, bool_of, child, children, element, int_of, receiver, sender, text_of


class ActionService:
    def __init__(self, rules: RuleEngine, bus: EventBus, logs: Logs, events: Events, notify: NotifyService) -> None:
        self.rules = rules
        self.bus = bus
        self.logs = logs
        self.events = events
        self.notify = notify

    def _id(self, msg: SoapMessage, name: str) -> int:
        return int_of(msg.body, name, AA)

    # -- action templates and configurations -----------------------------------------------
    async def get_action_templates(self, msg: SoapMessage, who: Principal) -> etree._Element:
        response = element("aa:GetActionTemplatesResponse")
        holder = element("aa:ActionTemplates", parent=response)
        for token in sorted(self.rules.types):
            kind = self.rules.types[token]
            template = element("aa:ActionTemplate", parent=holder)
            element("aa:TemplateToken", token, parent=template)
            own = kind.params
            if kind.recipient:
                element("aa:RecipientTemplate", kind.recipient, parent=template)
                recipient_params = RECIPIENT_TEMPLATES[kind.recipient].params \
                    if kind.recipient in RECIPIENT_TEMPLATES else ()
                own = tuple(p for p in kind.params if p not in recipient_params)
            parameter_list(template, own, with_values=False)
        return response

    async def get_action_configurations(self, msg: SoapMessage, who: Principal) -> etree._Element:
        response = element("aa:GetActionConfigurationsResponse")
        holder = element("aa:ActionConfigurations", parent=response)
        for aid in sorted(self.rules.actions):
            config = self.rules.actions[aid]
            el = element("aa:ActionConfiguration", parent=holder)
            element("aa:ConfigurationID", str(config.id), parent=el)
            element("aa:Name", config.name, parent=el)
            element("aa:TemplateToken", config.template, parent=el)
            parameter_list(el, self.notify.shown(config.params, who.role >= Role.ADMIN), with_values=True)
        return response

    async def add_action_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        new = child(msg.body, "NewActionConfiguration", AA)
        if new is None:
            raise sender("AddActionConfiguration needs a NewActionConfiguration")
        name = name_of(text_of(new, "Name", AA), "The action configuration")
        token = text_of(new, "TemplateToken", AA, required=True) or ""
        params = parameters(new, AA)
        if token not in self.rules.types:
            raise sender(f"Unknown action template {token[:100]!r} (GetActionTemplates lists them)")
        with refusals_as_faults():
            config = self.rules.add_action(name, token, self.notify.stored_params(token, params), who.name)
        response = element("aa:AddActionConfigurationResponse")
        element("aa:ConfigurationID", str(config.id), parent=response)
        return response

    async def remove_action_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        aid = self._id(msg, "ConfigurationID")
        with refusals_as_faults():
            self.rules.remove_action(aid, who.name)
        return element("aa:RemoveActionConfigurationResponse")

    # -- rules -----------------------------------------------------------------------------
    async def get_action_rules(self, msg: SoapMessage, who: Principal) -> etree._Element:
        response = element("aa:GetActionRulesResponse")
        holder = element("aa:ActionRules", parent=response)
        for rid in sorted(self.rules.rules):
            rule = self.rules.rules[rid]
            el = element("aa:ActionRule", parent=holder)
            element("aa:RuleID", str(rule.id), parent=el)
            element("aa:Name", rule.name, parent=el)
            element("aa:Enabled", "true" if rule.enabled else "false", parent=el)
            if rule.trigger is not None:
                el.append(filters.render_filter("aa:StartEvent", rule.trigger, self.bus))
            if rule.conditions:
                conditions = element("aa:Conditions", parent=el)
                for c in rule.conditions:
                    conditions.append(filters.render_filter("aa:Condition", c, self.bus))
            if rule.wait:
                element("aa:ActivationTimeout", format_duration(rule.wait), parent=el)
            element("aa:PrimaryAction", str(rule.action), parent=el)
        return response

    async def add_action_rule(self, msg: SoapMessage, who: Principal) -> etree._Element:
        new = child(msg.body, "NewActionRule", AA)
        if new is None:
            raise sender("AddActionRule needs a NewActionRule")
        name = name_of(text_of(new, "Name", AA), "The action rule", required=True)
        enabled = bool_of(new, "Enabled", AA, default=True)
        start = child(new, "StartEvent", AA)
        trigger = filters.parse_filter(start, self.bus, "StartEvent") if start is not None else None
        conditions = []
        holder = child(new, "Conditions", AA)
        if holder is not None:
            for n, c in enumerate(children(holder, "Condition", AA), 1):
                conditions.append(filters.parse_filter(c, self.bus, f"Condition {n}"))
        failover = child(new, "FailoverAction", AA)
        if failover is not None and (failover.text or "").strip():
            raise sender("Fallback (failover) actions are not supported")
        timeout = text_of(new, "ActivationTimeout", AA)
        primary = int_of(new, "PrimaryAction", AA)
        with refusals_as_faults():
            wait = parse_duration(timeout) if timeout else 0.0
            rule = self.events.add_rule(Rule(0, name, enabled, primary, tuple(conditions), trigger, wait), who.name)
        response = element("aa:AddActionRuleResponse")
        element("aa:RuleID", str(rule.id), parent=response)
        return response

    async def remove_action_rule(self, msg: SoapMessage, who: Principal) -> etree._Element:
        rid = self._id(msg, "RuleID")
        with refusals_as_faults():
            self.rules.remove_rule(rid, who.name)
        return element("aa:RemoveActionRuleResponse")

    # -- recipients ------------------------------------------------------------------------
    async def get_recipient_templates(self, msg: SoapMessage, who: Principal) -> etree._Element:
        response = element("aa:GetRecipientTemplatesResponse")
        holder = element("aa:RecipientTemplates", parent=response)
        for token, template in RECIPIENT_TEMPLATES.items():
            el = element("aa:RecipientTemplate", parent=holder)
            element("aa:TemplateToken", token, parent=el)
            parameter_list(el, template.params, with_values=False)
        return response

    async def get_recipient_configurations(self, msg: SoapMessage, who: Principal) -> etree._Element:
        response = element("aa:GetRecipientConfigurationsResponse")
        holder = element("aa:RecipientConfigurations", parent=response)
        for config in self.notify.recipients.list():
            el = element("aa:RecipientConfiguration", parent=holder)
            element("aa:ConfigurationID", str(config.id), parent=el)
            element("aa:Name", config.name, parent=el)
            element("aa:TemplateToken", config.template, parent=el)
            parameter_list(el, self.notify.shown(config.params, who.role >= Role.ADMIN), with_values=True)
        return response

    def _new_recipient(self, msg: SoapMessage) -> tuple[str, str, dict[str, str]]:
        new = child(msg.body, "NewRecipientConfiguration", AA)
        if new is None:
            raise sender(f"{msg.operation[1]} needs a NewRecipientConfiguration")
        name = name_of(text_of(new, "Name", AA), "The recipient", required=True)
        token = text_of(new, "TemplateToken", AA, required=True) or ""
        if token not in RECIPIENT_TEMPLATES:
            raise sender(f"Unknown recipient template {token[:100]!r} (GetRecipientTemplates lists them)")
        return name, token, parameters(new, AA)

    async def add_recipient_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        name, token, params = self._new_recipient(msg)
        with refusals_as_faults():
            config = self.notify.recipients.add(name, token, params, who.name)
        response = element("aa:AddRecipientConfigurationResponse")
        element("aa:ConfigurationID", str(config.id), parent=response)
        return response

    async def remove_recipient_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        rid = self._id(msg, "ConfigurationID")
        with refusals_as_faults():
            self.notify.remove(rid, who.name, self.rules.actions)
        return element("aa:RemoveRecipientConfigurationResponse")

    async def test_recipient_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        recipient: Recipient
        with refusals_as_faults():
            if child(msg.body, "ConfigurationID", AA) is not None:
                config, recipient = self.notify.stored(self._id(msg, "ConfigurationID"))
                label = f"{config.id} {config.name!r}"
            else:
                name, token, params = self._new_recipient(msg)
                recipient = self.notify.unsaved(name, token, params)
                label = f"{name!r} (not saved)"
        try:
            await self.notify.test(recipient)
        except RecipientError as err:
            self.logs.audit(who.name, f"tested recipient {label}: failed: {err}", "events")
            raise receiver(f"The test message was not delivered: {err}") from None
        self.logs.audit(who.name, f"tested recipient {label}: delivered", "events")
        return element("aa:TestRecipientConfigurationResponse")


OPERATIONS = (
    ("GetActionTemplates", Role.OPERATOR, ActionService.get_action_templates),
    ("GetActionConfigurations", Role.OPERATOR, ActionService.get_action_configurations),
    ("AddActionConfiguration", Role.ADMIN, ActionService.add_action_configuration),
    ("RemoveActionConfiguration", Role.ADMIN, ActionService.remove_action_configuration),
    ("GetActionRules", Role.OPERATOR, ActionService.get_action_rules),
    ("AddActionRule", Role.ADMIN, ActionService.add_action_rule),
    ("RemoveActionRule", Role.ADMIN, ActionService.remove_action_rule),
    ("GetRecipientTemplates", Role.OPERATOR, ActionService.get_recipient_templates),
    ("GetRecipientConfigurations", Role.OPERATOR, ActionService.get_recipient_configurations),
    ("AddRecipientConfiguration", Role.ADMIN, ActionService.add_recipient_configuration),
    ("RemoveRecipientConfiguration", Role.ADMIN, ActionService.remove_recipient_configuration),
    ("TestRecipientConfiguration", Role.ADMIN, ActionService.test_recipient_configuration),
)
