"""The egress gateway (opt-in): outbound traffic goes through one controlled forward proxy.

Turned on by ``--egress-gateway``, ``egress: gateway`` in the configuration, or
``x-compose-harden: {egress: gateway}`` at the top of the compose file; a stack that already has
the gateway (its service carries ``x-compose-harden: {role: egress-gateway}``) keeps it, and it is
updated rather than duplicated.

The gateway is a Squid forward proxy (``ubuntu/squid``), the only member of a new non-internal
``egress`` network, joined to the internal networks of the services it serves; its configuration
is written inline as a Compose config. Each routed service's way-out networks become internal
(a member that still needs a way out of its own -- an edge service publishing ports -- gets one
of its own), and it gets ``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``NO_PROXY`` in both cases.

Routed: services that have a way out, publish no ports, are not in host or another container's
network mode, and whose outbound traffic is HTTP(S) or unknown. Not routed, each with a finding:
edge services that publish ports (``egress-bypass-edge``), services with non-HTTP endpoints
(SMTP, external databases, AMQP, MQTT, LDAP, tunnels: ``egress-non-http``), services that set a
proxy already (``egress-proxy-preset``), forward proxies of the stack's own
(``egress-forward-proxy``), JVM images, which ignore the variables
(``egress-java-proxy``), and services whose way out cannot be changed (``egress-unroutable``).
Node images are routed with ``NODE_USE_ENV_PROXY=1`` (``egress-node-env-proxy``).
"""

from __future__ import annotations

from hardener.compose import as_mapping, untag
from hardener.errors import HardenError
from hardener.evidence.endpoints import host_of
from hardener.interpolate import interpolate
from hardener.plan.model import Finding, GatewayPlan, NetworkPlan

DEFAULT_IMAGE = "ubuntu/squid:6.6-24.04_beta"
PORT = 3128
PROXY_KEYS = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY", "no_proxy")
# the variables that send a service's requests through a proxy
OUTBOUND_PROXY_KEYS = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")
ALL_PROXY_KEYS = PROXY_KEYS + ("ALL_PROXY", "all_proxy", "NODE_USE_ENV_PROXY")
HEADER = "# compose-harden egress gateway"  # the first line of its squid.conf, then " (mode: ...)"
MARKER = "egress-gateway"
METADATA = ("169.254.0.0/16", "fd00:ec2::254/128")


def gateway_role(data: dict) -> bool:
    opts = untag(data.get("x-compose-harden"))
    return isinstance(opts, dict) and untag(opts.get("role")) == MARKER


class Gateway:
    # options ----------------------------------------------------------------------------------
    def gateway_options(self) -> dict | None:
        s = self.settings
        opts = {"egress": s.egress, "mode": s.egress_mode, "allow": list(s.egress_allow), "image": s.egress_image}
        for cf in self.p.files:
            top = untag(cf.data.get("x-compose-harden"))
            if not isinstance(top, dict):
                continue
            if opts["egress"] is None and untag(top.get("egress")) == "gateway":
                opts["egress"] = "gateway"
            if opts["mode"] is None and untag(top.get("egress-mode")) in ("report", "enforce"):
                opts["mode"] = untag(top["egress-mode"])
            allow = untag(top.get("egress-allow"))
            if isinstance(allow, list):
                opts["allow"] += [str(untag(h)) for h in allow if isinstance(untag(h), str)]
            if opts["image"] is None and isinstance(untag(top.get("egress-image")), str):
                opts["image"] = untag(top["egress-image"])
        existing = self.existing_gateway()
        if opts["egress"] is None and existing is None:
            return None
        if existing is not None:
            data = self.p.services[existing].data
            if opts["image"] is None and isinstance(untag(data.get("image")), str):
                opts["image"] = untag(data["image"])
            if opts["mode"] is None:
                content = self.gateway_config_content(existing) or ""
                opts["mode"] = "enforce" if f"{HEADER} (mode: enforce)" in content else "report"
        opts["mode"] = opts["mode"] or "report"
        opts["image"] = opts["image"] or DEFAULT_IMAGE
        opts["allow"] = sorted(set(opts["allow"]))
        return opts

    def existing_gateway(self) -> str | None:
        return next((n for n, s in self.p.services.items() if gateway_role(s.data)), None)

    def gateway_config_name(self, service: str) -> str | None:
        for c in untag(self.p.services[service].data.get("configs")) or []:
            c = untag(c)
            src = untag(c.get("source")) if isinstance(c, dict) else c
            if isinstance(src, str):
                return src
        return None

    def gateway_config_content(self, service: str) -> str | None:
        name = self.gateway_config_name(service)
        spec = untag(self.p.configs.get(name)) if name else None
        content = untag(spec.get("content")) if isinstance(spec, dict) else None
        return content if isinstance(content, str) else None

    # who is routed ------------------------------------------------------------------------------
    def proxy_value(self, gw: str) -> str:
        return f"http://{gw}:{PORT}"

    def routed_already(self, name: str, gw: str | None) -> bool:
        if gw is None:
            return False
        env = as_mapping(self.p.services[name].data.get("environment"))
        return str(env.get("HTTPS_PROXY") or env.get("https_proxy") or "") == self.proxy_value(gw)

    def meets_gateway(self, name: str, gw: str) -> bool:
        """Does the service share a network with the gateway, as planned so far?"""
        return bool(set(self.nets_after(name)) & set(self.nets_after(gw)))

    def not_routed(self, name: str, gw: str, internal: set[str], again: bool = False) -> tuple[str, str] | None:
        """(rule, why) when the service is not routed through the gateway; None when it is.
        ``again``: it is routed already (its proxy variables are the gateway's), but no longer
        meets the gateway: the same checks as for a new service, its variables aside."""
        st = self.state[name]
        t = self.tiers[name]
        data = self.p.services[name].data
        env = as_mapping(data.get("environment"))
        if self.routed_already(name, gw) and not again:
            return None
        if st.mode == "none":  # (a new service with no network is not asked: it has no way out)
            return "egress-unroutable", "network_mode: none"
        preset = [k for k in OUTBOUND_PROXY_KEYS if env.get(k)] if not again else []
        if preset:
            return "egress-proxy-preset", f"it sets {preset[0]} already ({env[preset[0]]}): never overwritten"
        if self.owner(name) != name:
            return "egress-unroutable", f"it runs in the network namespace of {self.owner(name)}"
        if len(self.members(name)) > 1:
            return "egress-unroutable", f"{', '.join(m for m in self.members(name) if m != name)} share its network namespace"
        if st.mode == "host" and name not in self.removed_host:
            return "egress-unroutable", "network_mode: host"
        if name not in self.target or not st.editable:
            return "egress-unroutable", f"its networks cannot be edited ({st.why_fixed or 'not editable'})"
        if t.tier == "edge" and self.publishes(name):
            return "egress-bypass-edge", ("it publishes ports: Docker publishes no ports of containers on internal-only "
                                          "networks (moby/moby#36174), so it keeps a direct way out")
        if self.publishes(name):
            return "egress-bypass-edge", "it publishes ports, so it keeps a direct way out (moby/moby#36174)"
        client = self.forward_proxies().get(name)
        if "forward-proxy" in t.flags or client:
            how = f"another service sends its requests through it ({client})" if client else "its image is a forward proxy"
            return "egress-forward-proxy", (f"it is a forward proxy itself ({how}): it sends requests straight out and "
                                            "does not read the proxy variables, so it keeps a direct way out")
        if "client" in t.flags:
            return "egress-non-http", "it is a tunnel or agent whose connection out is not plain HTTP(S)"
        non_http = [e for e in self.a.endpoints.get(name, []) if not e.http]
        if non_http:
            e = non_http[0]
            return "egress-non-http", f"it connects to {e.shown} ({e.where}), which is not HTTP(S): it keeps a direct way out"
        if "jvm" in t.flags:
            return "egress-java-proxy", ("the JVM ignores HTTP(S)_PROXY: it keeps a direct way out; to route it, set "
                                         f"JAVA_TOOL_OPTIONS=-Dhttp.proxyHost={gw} -Dhttp.proxyPort={PORT} "
                                         f"-Dhttps.proxyHost={gw} -Dhttps.proxyPort={PORT} and run again")
        for n in self.nets_after(name):
            if n in internal or n.startswith("<"):
                continue
            if self.external(n) or self.fixed_name(n) or self.pinned(n):
                why = ("externally managed" if self.external(n) else "has a fixed name other projects attach to"
                       if self.fixed_name(n) else "has services with fixed addresses")
                return "egress-unroutable", f"its way out, network {n}, {why}: the tool does not make it internal"
        return None

    def forward_proxies(self) -> dict[str, str]:
        """Services another service names in a proxy variable (``HTTP_PROXY=http://ssrf_proxy:3128``):
        service -> "<client> <KEY>=<value>" (the first, in service order), the gateway excluded."""
        cached = self.__dict__.get("_forward_proxies")
        if cached is not None:
            return cached
        found: dict[str, str] = {}
        for client in self.p.services:
            env = as_mapping(self.p.services[client].data.get("environment"))
            for key in OUTBOUND_PROXY_KEYS:
                value = env.get(key)
                if value is None:
                    continue
                text = interpolate(str(untag(value)), self.p.env).strip()
                target = self.a.hostnames.get(host_of(text))
                if target and target != client and not gateway_role(self.p.services[target].data):
                    found.setdefault(target, f"{client} {key}={text}")
        self.__dict__["_forward_proxies"] = found
        return found

    def has_direct_way_out(self, name: str, internal: set[str]) -> bool:
        return any(n not in internal and not n.startswith("<") and not self.already_internal(n)
                   for n in self.nets_after(name))

    # the plan ------------------------------------------------------------------------------------
    def plan_gateway(self) -> None:
        opts = self.gateway_options()
        if opts is None:
            return
        existing = self.existing_gateway()
        gw = existing or self.unique_service_name(MARKER)
        internal = set(self.internal)
        candidates: list[str] = []
        for name in self.p.services:
            if name == gw or self.is_data_store(name):
                continue
            st = self.state[name]
            if name in self.unrouted:
                self.plan.findings.append(Finding(
                    "egress-unroutable", name, f"its proxy variables cannot be written: {self.unrouted[name]}", False))
                continue
            if self.routed_already(name, existing):
                # Routed by an earlier run. Edited by hand since so that it no longer meets the
                # gateway, it is routed again only as a new service would be.
                why = None if self.meets_gateway(name, existing) else self.not_routed(name, gw, internal, again=True)
                if why:
                    self.plan.findings.append(Finding(
                        why[0], name, f"{why[1]}; its proxy variables point at the egress gateway {gw}, which it does "
                        "not share a network with: give it a network with the gateway by hand", False))
                    continue
                candidates.append(name)
                continue
            if st.mode in ("none",) or not (self.has_direct_way_out(name, internal) or st.mode == "host"):
                continue  # no way out to route
            why = self.not_routed(name, gw, internal)
            if why:
                self.plan.findings.append(Finding(why[0], name, why[1], False))
                continue
            candidates.append(name)
        # The routed services' way-out networks become internal; a member that still needs a way
        # out gets one of its own -- unless it cannot be edited: then that network stays open and
        # the services that would go out through it are not routed.
        routed = list(candidates)
        while True:
            way_outs = {r: [n for n in self.nets_after(r) if not n.startswith("<") and n not in internal
                            and not self.already_internal(n)] for r in routed}
            to_seal = list(dict.fromkeys(n for r in routed for n in way_outs[r]))
            blocked = {}
            for n in to_seal:
                for o in self.members_of(n):
                    if o in routed or o == gw or not self.needs_way_out(o):
                        continue
                    if not self.has_way_out_besides(o, n, internal, to_seal) and o not in self.target:
                        blocked[n] = o
                        break
            if not blocked:
                break
            for r in [r for r in routed if any(n in blocked for n in way_outs[r])]:
                routed.remove(r)
                n = next(n for n in way_outs[r] if n in blocked)
                self.plan.findings.append(Finding(
                    "egress-unroutable", r,
                    f"its way out, network {n}, is shared with {blocked[n]}, which needs it and cannot be edited", False))
        if not routed and existing is None:
            self.plan.notes.append("egress gateway: no service to route (none has a way out it can give up)")
            return
        for n in to_seal:
            for o in self.members_of(n):
                if o not in routed and o != gw and self.needs_way_out(o) and \
                        not self.has_way_out_besides(o, n, internal, to_seal):
                    self.join(o, self.role_name(f"own:{o}"), f"its own way out once {n} is internal (egress gateway)")
        for n in to_seal:
            self.seal(n)
            internal.add(n)
        self.internal = internal
        self.drop_idle_ways_out(routed, to_seal)
        for r in routed:  # their way out is the gateway now, not these networks
            for n, why in list(self.why[r].items()):
                if n in internal and "way out" in why:
                    self.why[r][n] = "sealed: outbound traffic goes through the egress gateway"
        # the gateway joins one network of each routed service: a sealed way out, else (a service
        # routed already) one it shares with the gateway, else its first network without data stores
        # never on a network with data stores: the proxy would give them a way out
        on_gateway = set(self.state[existing].nets) if existing else set()
        served: list[str] = []
        free: dict[str, bool] = {}  # network -> store_free, asked once per network
        for r in routed:
            nets = [n for n in self.nets_after(r) if not n.startswith("<") and self.store_free(n, free)]
            pick = [n for n in way_outs.get(r, []) if n in to_seal and n in nets] or \
                [n for n in nets if n in on_gateway] or nets[:1]
            if not pick:
                pick = [self.net_name("egress-clients", "egress-clients")]
                self.join(r, pick[0], "reaches the egress gateway (its other networks hold data stores)")
                free.pop(pick[0], None)
                if pick[0] not in self.plan.networks and pick[0] not in self.declared:
                    self.plan.networks[pick[0]] = NetworkPlan(
                        pick[0], create=True, definition=self.new_definition(True),
                        reason="the routed services meet the egress gateway here")
                internal.add(pick[0])
            served += [n for n in pick if n not in served]
        egress_net = self.existing_egress_network(existing) or self.net_name("egress", "egress")
        networks = list(dict.fromkeys((self.state[existing].nets if existing else []) + [egress_net] + served))
        if existing:  # a gateway from an earlier run: it joins the networks it now has to serve
            current = list(self.target.get(existing, self.state[existing].nets))
            for n in current:  # and never shares one with a data store (put there by hand)
                for store in self.stores_on(n):
                    self.plan.findings.append(Finding(
                        "data-egress", store, f"data store {store} shares network {n} with the egress gateway "
                        f"{existing}, a forward proxy it can send requests out through: take one of them off {n}",
                        False))
            for n in networks:
                if n not in current and not self.join(existing, n, "meets the services it routes here (egress gateway)"):
                    why = self.state[existing].why_fixed or "its networks cannot be edited"
                    raise HardenError(self.p.files[0].path, f"the egress gateway {existing} cannot be edited to join "
                                      f"network {n}, the way out of services it routes ({why}): add it there by hand")
        if egress_net not in self.declared and egress_net not in self.plan.networks:
            self.plan.networks[egress_net] = NetworkPlan(egress_net, create=True, definition=self.new_definition(False),
                                                       reason="the egress gateway's way out")
        for name in self.p.services:  # the ways out of their own just planned
            for n in self.target.get(name, []):
                if n in self.names.values() and n not in self.plan.networks and n not in self.declared:
                    self.plan.networks[n] = NetworkPlan(n, create=True, definition=self.new_definition(False),
                                                        reason="a way out of its own")
        allowed = self.allowed_hosts(routed, opts)
        ports = sorted({e.port for r in routed for e in self.a.endpoints.get(r, [])
                        if e.http and e.port and e.port not in (80, 443)})
        content = squid_conf(opts["mode"], allowed, ports)
        config = (self.gateway_config_name(existing) if existing else None) or self.unique_config_name(MARKER)
        if any(isinstance(d, dict) and untag(d.get("driver")) == "overlay" for d in self.declared.values()):
            self.plan.notes.append(
                f"egress gateway: this looks like a Swarm stack (overlay networks); docker stack deploy does not "
                f"accept inline config content (docker/roadmap#877): save configs.{MARKER}.content to a file and "
                "use file: instead when you deploy it with docker stack")
        self.plan.gateway = GatewayPlan(
            service=gw, image=opts["image"], config=config, content=content, networks=networks,
            egress_network=egress_net, mode=opts["mode"], routed=routed, allowed=allowed,
            exists=existing is not None, config_exists=config in self.p.configs)
        no_proxy = ",".join(sorted(set(["localhost", "127.0.0.1", "::1", gw] + self.all_names())))
        proxy = self.proxy_value(gw)
        for name in routed:
            env = {"HTTP_PROXY": proxy, "HTTPS_PROXY": proxy, "http_proxy": proxy, "https_proxy": proxy,
                   "NO_PROXY": no_proxy, "no_proxy": no_proxy}
            if "node" in self.tiers[name].flags:
                env["NODE_USE_ENV_PROXY"] = "1"
                self.plan.findings.append(Finding(
                    "egress-node-env-proxy", name,
                    "a Node.js image: its built-in fetch reads the proxy variables only with NODE_USE_ENV_PROXY=1 "
                    "(set) on Node 24 and later; older Node and other HTTP clients need their own proxy setting",
                    False))
            current = as_mapping(self.p.services[name].data.get("environment"))
            wanted = {k: v for k, v in env.items() if current.get(k) is None or str(current.get(k)) != v}
            if wanted:
                self.env_plans[name] = wanted
            self.plan.findings.append(Finding(
                "egress-gateway", name, f"outbound traffic goes through {gw} ({opts['mode']} mode)", True))

    def drop_idle_ways_out(self, routed: list[str], sealed: list[str]) -> None:
        """A network the plan created only as a way out, now sealed, that holds only routed
        services which share another network anyway connects nobody: it is dropped."""
        way_out_roles = [r for r in self.names if r == "back" or r.startswith("egress:")]
        for role in way_out_roles:
            net = self.names[role]
            if net not in sealed:
                continue
            members = self.members_of(net)
            if not members or any(m not in routed for m in members):
                continue
            # each member keeps another network without data stores (where the gateway can meet it)
            free: dict[str, bool] = {}
            others = [set(n for n in self.nets_after(m) if n != net and not n.startswith("<") and self.store_free(n, free))
                      for m in members]
            if not all(others) or (len(members) > 1 and not set.intersection(*others)):
                continue
            for m in members:
                self.leave(m, net)
            del self.names[role]
            self.plan.networks.pop(net, None)
            self.internal.discard(net)

    def stores_on(self, net: str) -> list[str]:
        """The data stores on a network (namespace members included), sorted."""
        return sorted({m for o in self.members_of(net) for m in self.members(o) if self.is_data_store(m)})

    def store_free(self, net: str, memo: dict[str, bool] | None = None) -> bool:
        """Does no data store sit on the network? With ``memo``, each network is looked at once
        (for a loop over thousands of services on a few networks, while no data store moves)."""
        if memo is None:
            return not self.stores_on(net)
        got = memo.get(net)
        if got is None:
            got = memo[net] = not self.stores_on(net)
        return got

    def has_way_out_besides(self, o: str, net: str, internal: set[str], sealing: list[str]) -> bool:
        return any(x != net and x not in internal and x not in sealing and not x.startswith("<")
                   and not self.already_internal(x) for x in self.nets_after(o))

    def seal(self, net: str) -> None:
        """Make a network internal: a new one in its definition, a declared one with internal: true,
        the implicit default network by declaring it."""
        if net in self.names.values():
            if net in self.plan.networks and self.plan.networks[net].create:
                d = self.plan.networks[net].definition
                d = dict(d) if isinstance(d, dict) else {}
                d["internal"] = True
                self.plan.networks[net].definition = d
            return
        if net == "default" and "default" not in self.declared:
            self.plan.networks["default"] = NetworkPlan("default", create=True, definition={"internal": True},
                                                        reason="the routed services' network, sealed (egress gateway)")
            return
        self.plan.networks[net] = NetworkPlan(net, set_internal=True,
                                              reason="the routed services' way out now goes through the egress gateway")

    def existing_egress_network(self, gw: str | None) -> str | None:
        if gw is None:
            return None
        for n in self.state[gw].nets:
            members = self.members_of(n)
            if members == [gw] and not self.already_internal(n):
                return n
        return None

    def unique_service_name(self, base: str) -> str:
        name, i = base, 2
        taken = {h for h in self.a.hostnames} | set(self.p.services)
        while name in taken:
            name, i = f"{base}-{i}", i + 1
        return name

    def unique_config_name(self, base: str) -> str:
        name, i = base, 2
        while name in self.p.configs:
            name, i = f"{base}-{i}", i + 1
        return name

    def all_names(self) -> list[str]:
        """Every name a service of the stack is reached by (service names, aliases, container
        names, hostnames, link aliases) as written."""
        return sorted(self.a.hostnames)

    def allowed_hosts(self, routed: list[str], opts: dict) -> list[str]:
        if opts["mode"] != "enforce":
            return []
        hosts = {e.host for r in routed for e in self.a.endpoints.get(r, []) if e.http}
        return sorted(hosts | set(opts["allow"]))


def squid_conf(mode: str, allowed: list[str], ports: list[int]) -> str:
    """The gateway's squid.conf: no conf.d include (its packaged localnet allow is a bypass),
    metadata and link-local addresses denied, CONNECT only to 443 (and the HTTPS ports the stack
    names), every request logged, and in enforce mode an allow-list.

    The logs are files in /var/log/squid, which the ubuntu/squid image prints on its stdout
    (its entrypoint follows them with ``tail -F``). Squid cannot write ``/dev/stdout`` itself: it
    opens its logs as its unprivileged user (``proxy``), and the container's stdout belongs to
    root (``FATAL: Cannot open '/dev/stdout' for writing``; proven on a real engine by
    tests/runtime/test_gateway.py)."""
    ssl = " ".join(str(p) for p in [443] + ports)
    lines = [
        f"{HEADER} (mode: {mode})",
        "# Every outbound request of the routed services goes through this proxy and is logged to",
        "# /var/log/squid/access.log, which the ubuntu/squid image prints on its stdout:",
        "# `docker compose logs egress-gateway` is the audit trail.",
    ]
    if mode == "enforce":
        lines += [
            "# Only the hosts in allowed_hosts are reachable. To allow another one, add it to the",
            "# egress-allow list (compose-harden configuration or x-compose-harden at the top of the",
            "# compose file) and run compose-harden again, or add it below: \".example.com\" allows the",
            "# domain and its subdomains.",
        ]
    else:
        lines += [
            "# Report mode: everything is allowed and logged except cloud metadata and link-local",
            "# addresses. Switch to enforce mode (--egress-mode enforce) for an allow-list.",
        ]
    lines += [
        f"http_port {PORT}",
        f"acl metadata dst {' '.join(METADATA)}",
        f"acl SSL_ports port {ssl}",
        f"acl Safe_ports port 80 {ssl}",
        "acl CONNECT method CONNECT",
        "http_access deny metadata",
        "http_access deny !Safe_ports",
        "http_access deny CONNECT !SSL_ports",
    ]
    if mode == "enforce":
        if allowed:
            lines.append("acl allowed_hosts dstdomain " + " ".join(allowed))
            lines.append("http_access allow allowed_hosts")
        lines.append("http_access deny all")
    else:
        lines.append("http_access allow all")
    lines += [
        "access_log stdio:/var/log/squid/access.log",
        "cache_log /var/log/squid/cache.log",
        "cache deny all",
        "coredump_dir /var/spool/squid",
    ]
    return "\n".join(lines) + "\n"
