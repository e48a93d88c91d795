"""`param.cgi`: list, listdefinitions, update, add and remove, in the exact VAPIX text format."""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.sax.saxutils import quoteattr

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.params import ParamDef, ParamError, printable, strip_root
from vigil.core.roles import Role
from vigil.http.routing import Endpoint, challenge, refuse
from vigil.http.vapix import first, form_args, text

if TYPE_CHECKING:
    from vigil.device import Device

EOL = "\r\n"
# Security-level digits of listdefinitions: create, delete, read, write.
LEVEL = {Role.ANONYMOUS: "0", Role.VIEWER: "1", Role.OPERATOR: "4", Role.ADMIN: "6"}
RESERVED = {"action", "usergroup", "responseformat", "group", "template", "force", "listformat"}


def _listing(device: Device, who: Principal, group: str | None) -> Response:
    params = device.params
    patterns = [g for g in group.split(",") if g.strip()] if group else None
    names, missing = params.select(patterns, who.role)
    lines = params.lines(names)
    errors = [f"# Error: Error -1 getting param in group '{printable(strip_root(m.strip()))}'" for m in missing]
    if missing:
        device.logs.system(f"param.cgi list: unknown or unreadable group(s) {printable(', '.join(missing))}",
                           "warning")
    return text(EOL.join(lines + errors) + EOL)


def _definition_xml(d: ParamDef, value: str) -> str:
    if d.kind == "int":
        bounds = "".join(f' {k}="{v}"' for k, v in (("min", d.minimum), ("max", d.maximum)) if v is not None)
        kind = f"<int{bounds}/>"
    elif d.kind == "bool":
        kind = f'<bool true="{d.truth[0]}" false="{d.truth[1]}"/>'
    elif d.kind == "enum":
        kind = "<enum>" + "".join(f"<entry value={quoteattr(c)}/>" for c in d.choices) + "</enum>"
    elif d.kind == "password":
        kind = f'<string maxlen="{d.maxlen}"/><password/>'
    else:
        kind = f'<string maxlen="{d.maxlen}"/>'
    readonly = ' readonly="true"' if d.readonly else ""
    write = LEVEL[d.write] if d.write is not None else "7"
    level = f"77{LEVEL[d.read]}{write}"
    leaf = d.name.rsplit(".", 1)[-1]
    return (f"<parameter name={quoteattr(leaf)} value={quoteattr(value)} securityLevel=\"{level}\" "
            f"niceName={quoteattr(d.nice or leaf)}><type{readonly}>{kind}</type></parameter>")


def _definitions(device: Device, who: Principal, group: str | None) -> Response:
    params = device.params
    patterns = [g for g in group.split(",") if g.strip()] if group else None
    names, _missing = params.select(patterns, who.role)
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           '<parameterDefinitions xmlns="http://www.axis.com/ParameterDefinitionsSchema" version="1.0">',
           f"<model>{params.get('Brand.ProdNbr')}</model>",
           f"<firmwareVersion>{params.get('Properties.Firmware.Version')}</firmwareVersion>"]
    open_groups: list[str] = []
    for name in names:
        parts = name.split(".")[:-1]
        common = 0
        while common < min(len(parts), len(open_groups)) and parts[common] == open_groups[common]:
            common += 1
        out += ["</group>"] * (len(open_groups) - common)
        out += [f"<group name={quoteattr(p)}>" for p in parts[common:]]
        open_groups = parts
        out.append(_definition_xml(params.defs[name], params.shown(name)))
    out += ["</group>"] * len(open_groups) + ["</parameterDefinitions>"]
    return Response("\n".join(out), media_type="text/xml")


def _update_role(device: Device, values: list[tuple[str, str]]) -> Role:
    """An update needs an operator, unless every parameter named is one a viewer may write
    (System.Theme); the tree still checks each parameter's own write role."""
    for raw, _value in values:
        name = device.params.resolve(raw)
        d = device.params.defs.get(name) if name else None
        if d is None or d.write is None or d.write > Role.VIEWER:
            return Role.OPERATOR
    return Role.VIEWER if values else Role.OPERATOR


async def param_cgi(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    params = device.params
    pairs = await form_args(request)
    action = first(pairs, "action")
    group = first(pairs, "group")
    elevated = first(pairs, "usergroup")
    if elevated is not None:
        try:
            needed = Role.parse(elevated)
        except ValueError:
            return text(f"# Error: unknown usergroup '{printable(elevated)}'" + EOL)
        # The argument exists to make a browser log in again: a caller below the level, or
        # one let in by anonymous viewing, gets a fresh challenge rather than a 403.
        if who.role < needed or (who.method == "anonymous" and needed > Role.ANONYMOUS):
            return challenge(device, request)
    if action == "list":
        return _listing(device, who, group)
    if action == "listdefinitions":
        return _definitions(device, who, group)
    values = [(k, v) for k, v in pairs if k not in RESERVED]
    if action in ("update", "add", "remove"):
        needed = _update_role(device, values) if action == "update" else Role.OPERATOR
        refusal = refuse(request, who, needed)
        if refusal is not None:
            return refusal
    try:
        if action == "update":
            if not values:
                return text("# Error: No parameters to update" + EOL)
            params.update(values, who.role, who.name)
            return text("OK" + EOL)
        if action == "add":
            template = first(pairs, "template") or ""
            short = params.add(template, group or "", values, who.role, who.name,
                               force=first(pairs, "force") == "yes")
            return text(f"{short} OK" + EOL)
        if action == "remove":
            if not group:
                return text("# Request failed: group is required" + EOL)
            params.remove(group.split(","), who.role, who.name)
            return text("OK" + EOL)
    except ParamError as err:
        device.logs.system(f"param.cgi {action} refused for {who.name}: {err}", "warning")
        prefix = "# Error: " if action == "update" else "# Request failed: "
        return text(prefix + str(err) + EOL)
    return text("# Error: Invalid action" + EOL)


# The same API at four paths; the path sets the least role that may call it.
ROUTES = (
    Endpoint("/axis-cgi/param.cgi", param_cgi, Role.VIEWER),
    Endpoint("/axis-cgi/view/param.cgi", param_cgi, Role.VIEWER),
    Endpoint("/axis-cgi/operator/param.cgi", param_cgi, Role.OPERATOR),
    Endpoint("/axis-cgi/admin/param.cgi", param_cgi, Role.ADMIN),
)
