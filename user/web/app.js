// SPDX-License-Identifier: MIT
// The swarmwatch dashboard: the overview table and one agent's charts, live from
// /api/v1/stream, history from /api/v1/query_range when the daemon keeps a series store.
// Every text from the daemon goes into the page through textContent, never as HTML.
"use strict";
(function () {
	const KEEP = 900; // live points kept per agent (15 min at 1 s)
	const FIELDS = ["requests_per_second", "p95_seconds", "error_ratio", "ratio_429",
		"cpu_cores", "resident_memory_bytes"];
	const CHARTS = [
		{ id: "requests", title: "requests per second", unit: "rate",
		  series: [["req/s", "requests_per_second"]] },
		{ id: "latency", title: "p95 latency", unit: "seconds",
		  series: [["p95", "p95_seconds"]] },
		{ id: "ratios", title: "error and 429 ratios", unit: "ratio",
		  series: [["errors", "error_ratio"], ["429", "ratio_429"]] },
		{ id: "cpu", title: "CPU cores", unit: "cores", series: [["CPU", "cpu_cores"]] },
		{ id: "memory", title: "resident memory", unit: "bytes",
		  series: [["memory", "resident_memory_bytes"]] },
	];
	const COLORS = ["#2a6fdb", "#d9480f", "#2b8a3e", "#7048e8"];
	const st = {
		agents: new Map(), // name -> {last, t: [], f: {field: []}, anomalous: []}
		sortKey: "agent", sortDir: 1, open: null, range: "live", history: null,
		charts: [], events: 0,
		incidentsOff: "", poolsOff: false, // the daemon answered 503: alerts, pools are off
		pools: new Set(), // names of the configured pools
		inst: new Map(), // instance -> {x, live}: the open pool's instances, gone ones kept
		poolBusy: false, // a fetch of the open pool's view is under way
	};
	const $ = (id) => document.getElementById(id);

	function fmt(v, unit) {
		if (v === null || v === undefined || Number.isNaN(v))
			return "–";
		switch (unit) {
		case "seconds":
			return v < 1 ? (v * 1000).toFixed(v < 0.01 ? 2 : 1) + " ms" : v.toFixed(2) + " s";
		case "ratio":
			return (v * 100).toFixed(v < 0.1 ? 1 : 0) + " %";
		case "bytes":
			return v >= 1 << 30 ? (v / (1 << 30)).toFixed(2) + " GiB" :
				(v / (1 << 20)).toFixed(1) + " MiB";
		case "cores":
			return v.toFixed(3);
		case "rate":
			return v < 10 ? v.toFixed(2) : v.toFixed(0);
		default:
			return String(v);
		}
	}
	const UNITS = { requests_per_second: "rate", p95_seconds: "seconds", error_ratio: "ratio",
		ratio_429: "ratio", cpu_cores: "cores", resident_memory_bytes: "bytes" };

	function cell(tr, text, cls) {
		const td = document.createElement("td");
		td.textContent = text;
		if (cls)
			td.className = cls;
		tr.appendChild(td);
		return td;
	}

	function sortValue(a, key) {
		if (key === "agent")
			return a.agent;
		if (key === "anomaly")
			return a.anomaly ? a.anomaly.score : -1;
		if (key === "cost")
			return a.cost ? a.cost.usage_ratio : -1;
		const v = a[key];
		return v === null || v === undefined ? -Infinity : v;
	}

	function renderOverview() {
		const filter = $("filter").value.trim().toLowerCase();
		const showGone = $("showgone").checked;
		const rows = [];
		for (const a of st.agents.values()) {
			const x = a.last;
			if (filter && !x.agent.toLowerCase().includes(filter))
				continue;
			if (!x.live && !showGone)
				continue;
			rows.push(x);
		}
		// Live agents first, the gone ones after them: greyed, not mixed in.
		rows.sort((p, q) => {
			if (p.live !== q.live)
				return p.live ? -1 : 1;
			const a = sortValue(p, st.sortKey), b = sortValue(q, st.sortKey);
			const c = typeof a === "string" ? a.localeCompare(b) : a - b;
			return c * st.sortDir || p.agent.localeCompare(q.agent);
		});
		const body = document.createElement("tbody");
		body.id = "rows";
		for (const x of rows) {
			const tr = document.createElement("tr");
			tr.dataset.agent = x.agent;
			if (!x.live)
				tr.classList.add("gone");
			if (x.anomaly && x.anomaly.anomalous)
				tr.classList.add("anomalous");
			if (x.agent === st.open)
				tr.classList.add("open");
			cell(tr, x.agent);
			cell(tr, String(x.instances), "num");
			for (const f of FIELDS)
				cell(tr, fmt(x[f], UNITS[f]), "num");
			const an = x.anomaly;
			cell(tr, !an ? "–" : an.anomalous ? "yes " + an.signals.join(", ") :
				an.score.toFixed(2), "num anomaly");
			const c = x.cost;
			cell(tr, !c ? "–" : "$" + c.spent_usd.toPrecision(3) + " / $" +
				c.budget_usd.toPrecision(3) + " (" + Math.round(c.usage_ratio * 100) + " %)",
				"num cost");
			if (c && c.usage_ratio >= 0.8)
				tr.classList.add(c.usage_ratio >= 0.95 ? "budget-emergency" : "budget-warning");
			body.appendChild(tr);
		}
		$("rows").replaceWith(body);
		$("count").textContent = rows.length + " of " + st.agents.size + " agents";
		for (const th of document.querySelectorAll("#agents th")) {
			th.classList.toggle("sorted", th.dataset.key === st.sortKey);
			th.classList.toggle("desc", th.dataset.key === st.sortKey && st.sortDir < 0);
		}
	}

	function renderUpstreams(x) {
		const body = document.createElement("tbody");
		for (const u of x ? x.upstreams : []) {
			const tr = document.createElement("tr");
			cell(tr, u.upstream);
			cell(tr, u.role);
			cell(tr, fmt(u.requests_per_second, "rate"), "num");
			cell(tr, fmt(u.p95_seconds, "seconds"), "num");
			cell(tr, fmt(u.error_ratio, "ratio"), "num");
			cell(tr, fmt(u.ratio_429, "ratio"), "num");
			body.appendChild(tr);
		}
		$("upstreams").tBodies[0].replaceWith(body);
	}

	// One event of the stream: every agent's figures of the tick.
	function onOverview(ev) {
		const doc = JSON.parse(ev.data);
		const t = doc.unix_ms / 1000;
		const seen = new Set();
		for (const x of doc.agents) {
			let a = st.agents.get(x.agent);
			if (!a) {
				a = { t: [], f: {}, anomalous: [] };
				for (const f of FIELDS)
					a.f[f] = [];
				st.agents.set(x.agent, a);
			}
			a.last = x;
			a.t.push(t);
			for (const f of FIELDS)
				a.f[f].push(x[f]);
			a.anomalous.push(x.anomaly && x.anomaly.anomalous ? 1 : 0);
			if (a.t.length > KEEP) {
				a.t.shift();
				for (const f of FIELDS)
					a.f[f].shift();
				a.anomalous.shift();
			}
			seen.add(x.agent);
		}
		// Agents no longer in the snapshot stay listed, as gone.
		for (const [name, a] of st.agents)
			if (!seen.has(name))
				a.last = Object.assign({}, a.last, { live: false, instances: 0 });
		st.events++;
		const status = $("status");
		status.textContent = "live · tick " + doc.tick + " · " +
			new Date(doc.unix_ms).toLocaleTimeString();
		status.classList.remove("down");
		renderOverview();
		if (st.open) {
			const a = st.agents.get(st.open);
			renderUpstreams(a && a.last);
			loadPoolView();
			if (st.range === "live")
				drawCharts(liveData(a));
		}
	}

	function liveData(a) {
		const d = { t: a ? a.t.slice() : [], f: {}, anomalous: a ? a.anomalous.slice() : [] };
		for (const f of FIELDS)
			d.f[f] = a ? a.f[f].slice() : [];
		return d;
	}

	// Shades the ticks an anomaly episode was ongoing.
	function anomalyPlugin(getFlags) {
		return {
			hooks: {
				draw: [(u) => {
					const flags = getFlags(), xs = u.data[0], ctx = u.ctx;
					ctx.save();
					ctx.fillStyle = "rgba(220, 30, 30, 0.15)";
					for (let i = 0; i < xs.length; i++) {
						if (!flags[i])
							continue;
						let j = i;
						while (j + 1 < xs.length && flags[j + 1])
							j++;
						const x0 = u.valToPos(xs[i], "x", true);
						const x1 = j + 1 < xs.length ? u.valToPos(xs[j + 1], "x", true) :
							u.bbox.left + u.bbox.width;
						ctx.fillRect(x0, u.bbox.top, Math.max(x1 - x0, 2), u.bbox.height);
						i = j;
					}
					ctx.restore();
				}],
			},
		};
	}

	function chartWidth() {
		const w = $("charts").clientWidth;
		return Math.max(260, window.innerWidth <= 700 ? w - 20 : Math.min(w, 640) - 20);
	}

	function buildCharts() {
		const box = $("charts");
		box.textContent = "";
		st.charts = [];
		if (!window.uPlot) {
			const p = document.createElement("p");
			p.className = "note";
			p.textContent = "Charts are not built in (uPlot was not installed when this " +
				"swarmwatch was built: run make deps, then make). The figures below and the " +
				"exports still work.";
			box.appendChild(p);
		}
		for (const c of CHARTS) {
			const div = document.createElement("div");
			div.className = "chart";
			div.id = "chart-" + c.id;
			const h = document.createElement("h4");
			const title = document.createElement("span");
			title.textContent = c.title;
			h.appendChild(title);
			for (const kind of ["CSV", "JSON"]) {
				const b = document.createElement("button");
				b.type = "button";
				b.textContent = kind;
				b.title = "export this chart's data as " + kind;
				b.addEventListener("click", () => exportChart(c, kind));
				h.appendChild(b);
			}
			div.appendChild(h);
			box.appendChild(div);
			const entry = { def: c, div, plot: null, data: null };
			if (window.uPlot) {
				const opts = {
					width: chartWidth(), height: 180,
					scales: { x: { time: true }, y: { range: (u, lo, hi) =>
						c.unit === "ratio" ? [0, 1] : [0, hi > 0 ? hi * 1.1 : 1] } },
					series: [{}].concat(c.series.map((s, i) => ({
						label: s[0], stroke: COLORS[i], width: 1.5, spanGaps: false,
						value: (u, v) => fmt(v, c.unit),
					}))),
					axes: [{}, { size: 70, values: (u, vals) => vals.map((v) => fmt(v, c.unit)) }],
					plugins: [anomalyPlugin(() => st.flags || [])],
				};
				entry.plot = new window.uPlot(opts, [[]].concat(c.series.map(() => [])), div);
			}
			st.charts.push(entry);
		}
	}

	function drawCharts(d) {
		st.flags = d.anomalous;
		for (const e of st.charts) {
			e.data = { t: d.t, series: e.def.series.map((s) => d.f[s[1]] || []) };
			if (e.plot)
				e.plot.setData([d.t].concat(e.data.series));
		}
	}

	function download(name, type, text) {
		const a = document.createElement("a");
		a.href = URL.createObjectURL(new Blob([text], { type }));
		a.download = name;
		document.body.appendChild(a);
		a.click();
		setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
	}

	function exportChart(c, kind) {
		const e = st.charts.find((x) => x.def === c);
		const d = e && e.data ? e.data : { t: [], series: c.series.map(() => []) };
		const names = c.series.map((s) => s[1]);
		const base = "swarmwatch-" + (st.open || "agent").replace(/[^A-Za-z0-9._-]/g, "_") +
			"-" + c.id;
		if (kind === "JSON") {
			const points = d.t.map((t, i) => {
				const p = { time: new Date(t * 1000).toISOString() };
				names.forEach((n, j) => { p[n] = d.series[j][i]; });
				return p;
			});
			download(base + ".json", "application/json", JSON.stringify({
				agent: st.open, chart: c.id, range: st.range, points }, null, 1));
		} else {
			const lines = ["time," + names.join(",")];
			d.t.forEach((t, i) => {
				lines.push(new Date(t * 1000).toISOString() + "," +
					d.series.map((s) => (s[i] === null || s[i] === undefined ? "" : s[i]))
						.join(","));
			});
			download(base + ".csv", "text/csv", lines.join("\n") + "\n");
		}
	}

	// History from the series store: sums the series of a metric per timestamp.
	async function queryRange(metric, agent, start, rate, filter) {
		const q = new URLSearchParams({ metric, agent, start: String(Math.floor(start)) });
		if (rate)
			q.set("rate", "true");
		const r = await fetch("/api/v1/query_range?" + q);
		if (r.status === 404)
			throw new Error("no series store in this swarmwatch: live only");
		const doc = await r.json();
		if (!r.ok)
			throw new Error(doc.error || "query failed: " + r.status);
		const sum = new Map();
		for (const s of doc.data.series) {
			if (filter && !filter(s.labels || {}))
				continue;
			for (const [t, v] of s.points)
				if (v !== null)
					sum.set(t, (sum.get(t) || 0) + v);
		}
		return sum;
	}

	async function loadHistory(seconds) {
		const agent = st.open, start = Date.now() / 1000 - seconds;
		const note = $("rangenote");
		note.textContent = "loading…";
		try {
			const client = (l) => l.role === "client";
			const bad = (l) => client(l) && (l.status === "5xx" || l.status === "error");
			const [req, err, lim, cpu, mem, an] = await Promise.all([
				queryRange("swarmwatch_agent_requests_total", agent, start, true, client),
				queryRange("swarmwatch_agent_requests_total", agent, start, true, bad),
				queryRange("swarmwatch_agent_requests_total", agent, start, true,
					(l) => client(l) && l.status === "429"),
				queryRange("swarmwatch_agent_cpu_seconds_total", agent, start, true),
				queryRange("swarmwatch_agent_resident_memory_bytes", agent, start, false),
				queryRange("swarmwatch_agent_anomalous", agent, start, false),
			]);
			if (st.open !== agent || st.range === "live")
				return;
			const ts = [...new Set([...req.keys(), ...cpu.keys(), ...mem.keys()])]
				.sort((a, b) => a - b);
			const d = { t: ts, f: {}, anomalous: ts.map((t) => (an.get(t) ? 1 : 0)) };
			d.f.requests_per_second = ts.map((t) => (req.has(t) ? req.get(t) : null));
			d.f.error_ratio = ts.map((t) => (req.get(t) ? (err.get(t) || 0) / req.get(t) : null));
			d.f.ratio_429 = ts.map((t) => (req.get(t) ? (lim.get(t) || 0) / req.get(t) : null));
			d.f.cpu_cores = ts.map((t) => (cpu.has(t) ? cpu.get(t) : null));
			d.f.resident_memory_bytes = ts.map((t) => (mem.has(t) ? mem.get(t) : null));
			d.f.p95_seconds = ts.map(() => null);
			note.textContent = ts.length + " points from the series store (p95 is live only)";
			drawCharts(d);
		} catch (e) {
			note.textContent = e.message;
			$("range").value = "live";
			st.range = "live";
			drawCharts(liveData(st.agents.get(agent)));
		}
	}

	function when(iso) {
		return iso ? iso.replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC") : "now";
	}

	function text(tag, content, cls) {
		const e = document.createElement(tag);
		e.textContent = content;
		if (cls)
			e.className = cls;
		return e;
	}

	// The incidents of the open agent, newest first: a timeline of each one's signals in the
	// order they departed, the first named as the likely cause.
	async function loadIncidents() {
		const name = st.open;
		const list = document.createElement("ol");
		list.id = "incidents";
		list.className = "timeline";
		let note = "";
		if (st.incidentsOff) {
			$("incnote").textContent = st.incidentsOff;
			return;
		}
		try {
			const r = await fetch("/api/v1/incidents");
			const doc = await r.json();
			if (r.status === 503) // alerts are off: not asked again
				st.incidentsOff = "incidents: " + doc.error;
			if (!r.ok)
				throw new Error(doc.error || r.statusText);
			const mine = doc.incidents.filter((i) => i.agent === name);
			mine.sort((x, y) => (y.startsAt > x.startsAt ? 1 : -1));
			for (const i of mine) {
				const li = document.createElement("li");
				li.className = i.state;
				li.dataset.id = i.id;
				const head = document.createElement("div");
				head.appendChild(text("span", i.state + " · " + when(i.startsAt) + " → " +
					when(i.endsAt) + " · ", "when"));
				head.appendChild(text("span", "likely cause: " + i.cause, "cause"));
				li.appendChild(head);
				if (i.recommendation)
					li.appendChild(text("div", i.recommendation));
				if (i.upstream)
					li.appendChild(text("div", "upstream: " + i.upstream, "note"));
				const sigs = document.createElement("ol");
				i.signals.forEach((g, k) => {
					const s = text("li", when(g.since) + " " + g.name + " (" + g.source +
						(g.detail ? ": " + g.detail : "") + ")", k ? "" : "first");
					sigs.appendChild(s);
				});
				if (i.more_signals)
					sigs.appendChild(text("li", "and " + i.more_signals + " more", "note"));
				li.appendChild(sigs);
				list.appendChild(li);
			}
			note = mine.length ? "" : "no incident of this agent in the last 256";
		} catch (e) {
			note = "incidents: " + e.message;
		}
		if (st.open !== name)
			return;
		$("incnote").textContent = note;
		$("incidents").replaceWith(list);
	}

	// Cost per pool (a pool is an agent): replicas from /api/v1/pools, today's spend from
	// /api/v1/cost. Hidden when no pools are configured.
	async function loadPools() {
		let pools, cost = null;
		if (st.poolsOff)
			return;
		try {
			const r = await fetch("/api/v1/pools");
			if (!r.ok) {
				st.poolsOff = r.status === 503; // no pools configured: not asked again
				$("poolcost").hidden = true;
				return;
			}
			pools = (await r.json()).pools;
			const c = await fetch("/api/v1/cost");
			if (c.ok)
				cost = await c.json();
		} catch (e) {
			return;
		}
		st.pools = new Set(pools.map((p) => p.pool));
		const spend = new Map((cost ? cost.agents : []).map((a) => [a.agent, a]));
		const body = document.createElement("tbody");
		for (const p of pools) {
			const tr = document.createElement("tr");
			const a = spend.get(p.pool);
			const usd = (v) => (v === null || v === undefined ? "–" : "$" + v.toFixed(2));
			tr.dataset.pool = p.pool;
			cell(tr, p.pool);
			cell(tr, p.seen ? String(p.current_replicas) : "–", "num");
			cell(tr, String(p.desired_replicas), "num");
			cell(tr, usd(a && a.spent_usd), "num");
			cell(tr, usd(a && a.budget_usd), "num");
			cell(tr, usd(a && a.forecast && a.forecast.end_of_day_usd), "num");
			cell(tr, usd(a && p.current_replicas > 0 ? a.spent_usd / p.current_replicas : null),
				"num");
			cell(tr, p.blocked ? p.blocked : !a ? "not priced" :
				a.threshold === "none" ? "within budget" : "budget " + a.threshold);
			body.appendChild(tr);
		}
		$("pools").tBodies[0].replaceWith(body);
		$("poolcost").hidden = !pools.length;
	}

	const GONE_KEPT = 32; // gone instances listed at most, the last seen first dropped

	// The open pool's instances: breaker state and routing weight, the gone ones greyed.
	function renderInstances(w) {
		const seen = new Set();
		for (const x of w.instances) {
			st.inst.delete(x.instance); // re-inserted: the Map's order is last seen
			st.inst.set(x.instance, { x, live: true });
			seen.add(x.instance);
		}
		const gone = [];
		for (const [k, v] of st.inst)
			if (!seen.has(k)) {
				v.live = false;
				gone.push(k);
			}
		for (const k of gone.slice(0, Math.max(0, gone.length - GONE_KEPT)))
			st.inst.delete(k);
		const list = [...st.inst.values()].sort((p, q) => (p.live !== q.live ? (p.live ? -1 : 1) :
			p.x.instance.localeCompare(q.x.instance)));
		const body = document.createElement("tbody");
		for (const { x, live } of list) {
			const tr = document.createElement("tr");
			tr.dataset.instance = x.instance;
			if (!live)
				tr.classList.add("gone");
			cell(tr, x.instance);
			const state = x.breaker.replace("_", "-");
			cell(tr, x.breaker === "open" && x.retry_at && live ?
				state + " (retry " + when(x.retry_at).slice(11) + ")" : state,
				"breaker " + x.breaker);
			const since = cell(tr, x.breaker_since ? when(x.breaker_since).slice(11) : "–");
			since.title = x.breaker_since ? when(x.breaker_since) : "";
			const wt = cell(tr, live ? (x.weight * 100).toFixed(1) + " %" : "–", "num weight");
			if (live) {
				const bar = document.createElement("span");
				bar.className = "bar";
				bar.style.width = (x.weight * 6).toFixed(2) + "em";
				wt.prepend(bar);
			}
			cell(tr, String(x.requests), "num");
			cell(tr, String(x.failures), "num");
			cell(tr, fmt(x.latency_seconds, "seconds"), "num");
			body.appendChild(tr);
		}
		$("instances").tBodies[0].replaceWith(body);
		$("poolsum").textContent = "· routing " + w.routing + " · " + seen.size +
			" live instance" + (seen.size === 1 ? "" : "s") + " · " + w.open_breakers +
			" open breaker" + (w.open_breakers === 1 ? "" : "s") +
			(gone.length ? " · " + Math.min(gone.length, GONE_KEPT) + " gone" : "");
	}

	// The open pool's scaling decisions, newest first.
	function renderScaling(h) {
		const list = document.createElement("ol");
		list.id = "scaling";
		list.className = "timeline";
		for (const d of h.decisions) {
			const li = document.createElement("li");
			li.className = d.direction;
			const head = document.createElement("div");
			head.appendChild(text("span", when(d.time) + " · ", "when"));
			head.appendChild(text("span", d.direction + " " + d.current_replicas + " → " +
				d.desired_replicas, "cause"));
			head.appendChild(text("span", " · rule " + d.rule));
			li.appendChild(head);
			li.appendChild(text("div", d.reason, "note"));
			list.appendChild(li);
		}
		$("scaling").replaceWith(list);
		$("scalenote").textContent = h.decisions.length ? "" : "no scaling decision yet";
	}

	// Refreshes the pool view of the open agent when it is a pool: on open and on each tick.
	async function loadPoolView() {
		const name = st.open;
		if (!name || st.poolsOff || !st.pools.has(name)) {
			$("poolview").hidden = true;
			return;
		}
		if (st.poolBusy)
			return;
		st.poolBusy = true;
		try {
			const p = "/api/v1/pools/" + encodeURIComponent(name);
			const [w, h] = await Promise.all([fetch(p + "/weights"),
				fetch(p + "/history?limit=20")]);
			const wd = await w.json(), hd = await h.json();
			if (st.open !== name)
				return;
			if (!w.ok)
				throw new Error("breakers: " + (wd.error || w.statusText));
			renderInstances(wd);
			if (h.ok)
				renderScaling(hd);
			else
				$("scalenote").textContent = "scaling history: " + (hd.error || h.statusText);
			$("poolview").hidden = false;
		} catch (e) {
			if (st.open === name)
				$("poolsum").textContent = e.message;
		} finally {
			st.poolBusy = false;
		}
	}

	function openAgent(name) {
		st.open = name;
		$("detail").hidden = !name;
		if (!name) {
			history.replaceState(null, "", location.pathname);
			renderOverview();
			return;
		}
		history.replaceState(null, "", "#agent=" + encodeURIComponent(name));
		$("dname").textContent = name;
		$("rangenote").textContent = "";
		$("range").value = "live";
		st.range = "live";
		buildCharts();
		const a = st.agents.get(name);
		renderUpstreams(a && a.last);
		drawCharts(liveData(a));
		$("incnote").textContent = "";
		loadIncidents();
		if (st.inst.size && name !== st.instOf)
			st.inst = new Map();
		st.instOf = name;
		$("poolview").hidden = true;
		$("poolsum").textContent = "";
		loadPoolView();
		renderOverview();
		$("detail").scrollIntoView({ block: "nearest" });
	}

	function start() {
		for (const th of document.querySelectorAll("#agents th")) {
			th.addEventListener("click", () => {
				const k = th.dataset.key;
				st.sortDir = st.sortKey === k ? -st.sortDir : k === "agent" ? 1 : -1;
				st.sortKey = k;
				renderOverview();
			});
		}
		$("filter").addEventListener("input", renderOverview);
		$("showgone").addEventListener("change", renderOverview);
		$("agents").addEventListener("click", (e) => {
			const tr = e.target.closest("tr[data-agent]");
			if (tr)
				openAgent(tr.dataset.agent);
		});
		$("close").addEventListener("click", () => openAgent(null));
		$("pools").addEventListener("click", (e) => {
			const tr = e.target.closest("tr[data-pool]");
			if (tr && st.agents.has(tr.dataset.pool))
				openAgent(tr.dataset.pool);
		});
		$("range").addEventListener("change", () => {
			st.range = $("range").value;
			if (st.range === "live") {
				$("rangenote").textContent = "";
				drawCharts(liveData(st.agents.get(st.open)));
			} else {
				loadHistory(Number(st.range));
			}
		});
		window.addEventListener("resize", () => {
			for (const e of st.charts)
				if (e.plot)
					e.plot.setSize({ width: chartWidth(), height: 180 });
		});
		loadPools().then(() => loadPoolView());
		setInterval(() => {
			loadPools();
			if (st.open)
				loadIncidents();
		}, 5000);
		const es = new EventSource("/api/v1/stream");
		es.addEventListener("overview", onOverview);
		es.onerror = () => {
			$("status").textContent = "disconnected: retrying…";
			$("status").classList.add("down");
		};
		const m = /^#agent=(.+)$/.exec(location.hash);
		if (m) {
			const name = decodeURIComponent(m[1]);
			const wait = () => (st.agents.has(name) ? openAgent(name) : setTimeout(wait, 200));
			wait();
		}
	}
	start();
})();
