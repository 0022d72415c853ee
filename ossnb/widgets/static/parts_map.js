// The parts map: one cell per part, coloured by state, drawn on a canvas.
// The kernel sends three byte arrays (state code, fill 0-255, attempts) at most ten
// times a second; hover shows a part, a click pins it and asks the kernel for its
// ETag and CRC-64. Colours come from the front end's --jp-* variables.

const STATES = [
  // [name, css variable, fallback]
  ["pending", "--jp-layout-color3", "#bdbdbd"],
  ["sending", "--jp-brand-color1", "#1976d2"],
  ["done", "--jp-success-color1", "#388e3c"],
  ["reused", "--jp-info-color1", "#00bcd4"],
  ["failed", "--jp-error-color1", "#d32f2f"],
  ["retrying", "--jp-warn-color1", "#f57c00"],
  ["held", "--jp-info-color3", "#b2ebf2"],
  ["gone", "--jp-error-color3", "#ffcdd2"],
];
const NOTES = {
  pending: "not sent yet",
  sending: "on the wire",
  done: "on the server, ETag checked",
  reused: "was on the server, CRC-64 re-checked",
  failed: "failed after its retries",
  retrying: "sending again after a failed attempt",
  held: "on the server; re-checked (CRC-64) on Start",
  gone: "dropped by Abort: the server holds no parts",
};
// Who carried a part (colour by worker): the theme's own accent colours, in turn.
const CARRIERS = [
  ["--jp-brand-color1", "#1976d2"],
  ["--jp-warn-color1", "#f57c00"],
  ["--jp-accent-color1", "#00897b"],
  ["--jp-error-color1", "#d32f2f"],
  ["--jp-success-color1", "#388e3c"],
  ["--jp-info-color1", "#0097a7"],
];
const HEIGHT = 120;
const MAX_CELL = 28;

function bytes(view) {
  if (!view) return new Uint8Array(0);
  if (view instanceof DataView) return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  if (view.buffer) return new Uint8Array(view.buffer, view.byteOffset || 0, view.byteLength);
  return new Uint8Array(view);
}

function size(n) {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n;
  for (const u of units) {
    v /= 1024;
    if (v < 1024 || u === "TiB") return `${v.toFixed(1)} ${u}`;
  }
  return `${n} B`;
}

function cellSize(n, width, height) {
  if (n <= 0 || width <= 0) return 1;
  let s = Math.min(MAX_CELL, Math.max(1, Math.floor(Math.sqrt((width * height) / n))));
  while (s > 1 && Math.ceil(n / Math.floor(width / s)) * s > height) s -= 1;
  return s;
}

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "ossnb-map";
  const canvas = document.createElement("canvas");
  canvas.className = "ossnb-map-canvas";
  canvas.setAttribute("role", "img");
  const legend = document.createElement("div");
  legend.className = "ossnb-map-legend";
  const info = document.createElement("div");
  info.className = "ossnb-map-info";
  const toggle = document.createElement("label");
  toggle.className = "ossnb-map-toggle";
  const byWorker = document.createElement("input");
  byWorker.type = "checkbox";
  toggle.append(byWorker, " colour by worker");
  byWorker.addEventListener("change", () => {
    model.set("colour_by", byWorker.checked ? "worker" : "state");
    model.save_changes();
  });
  root.append(canvas, legend, info); // the toggle leads the legend's one line
  el.append(root);

  let hover = null;
  let pinned = null;
  const details = new Map();
  let frame = 0;
  let geometry = { s: 1, cols: 1 };

  const data = () => ({
    n: model.get("count"),
    codes: bytes(model.get("codes")),
    fills: bytes(model.get("fills")),
    attempts: bytes(model.get("attempts")),
    workers: bytes(model.get("workers")),
  });

  function colours() {
    const style = getComputedStyle(root);
    return STATES.map(([, v, fb]) => style.getPropertyValue(v).trim() || fb);
  }

  function draw() {
    frame = 0;
    const { n, codes, fills, workers } = data();
    const names = model.get("worker_names") || [];
    const perWorker = model.get("colour_by") === "worker";
    byWorker.checked = perWorker;
    // The height depends only on the part count and the width: it never changes while
    // an upload runs, so nothing below the map moves.
    const width = Math.max(1, Math.floor(root.clientWidth));
    const s = cellSize(n, width, HEIGHT);
    const cols = Math.max(1, Math.floor(width / s));
    const height = Math.max(s, Math.ceil(Math.max(1, n) / cols) * s);
    const dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
      canvas.style.width = `${width}px`;
      canvas.style.height = `${height}px`;
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    geometry = { s, cols };
    const gap = s >= 5 ? 1 : 0;
    const c = colours();
    const style = getComputedStyle(root);
    const hues = CARRIERS.map(([v, fb]) => style.getPropertyValue(v).trim() || fb);
    const counts = new Array(STATES.length).fill(0);
    const carried = new Array(names.length + 1).fill(0);
    for (let i = 0; i < n; i += 1) {
      const code = codes[i] || 0;
      counts[code] += 1;
      const x = (i % cols) * s;
      const y = Math.floor(i / cols) * s;
      const w = s - gap;
      const by = workers[i] || 0;
      carried[by] += 1;
      if (perWorker && by && code !== 0 && code !== 6 && code !== 7) {
        ctx.fillStyle = c[0];
        ctx.fillRect(x, y, w, w);
        const h = code === 1 || code === 5 ? Math.max(1, Math.round((w * (fills[i] || 0)) / 255)) : w;
        ctx.fillStyle = hues[(by - 1) % hues.length];
        ctx.fillRect(x, y + w - h, w, h);
      } else if (code === 1 || code === 5) {
        ctx.fillStyle = c[0];
        ctx.fillRect(x, y, w, w);
        const h = Math.max(1, Math.round((w * (fills[i] || 0)) / 255));
        ctx.fillStyle = c[code];
        ctx.fillRect(x, y + w - h, w, h);
      } else {
        ctx.fillStyle = c[code] || c[0];
        ctx.fillRect(x, y, w, w);
        if (code === 7 && w >= 4) {
          ctx.strokeStyle = c[4];
          ctx.beginPath();
          ctx.moveTo(x, y + w);
          ctx.lineTo(x + w, y);
          ctx.stroke();
        }
      }
    }
    const marked = pinned || hover;
    if (marked && marked <= n && s >= 3) {
      ctx.strokeStyle = getComputedStyle(root).getPropertyValue("--jp-ui-font-color0").trim() || "#000";
      ctx.lineWidth = 1;
      const i = marked - 1;
      ctx.strokeRect((i % cols) * s + 0.5, Math.floor(i / cols) * s + 0.5, s - 1, s - 1);
    }
    const summary = STATES.map(([name], k) => `${name} ${counts[k]}`).join(", ");
    canvas.setAttribute("aria-label", `parts map, ${n} part(s): ${summary}`);
    if (perWorker) {
      legend.replaceChildren(
        toggle,
        ...names.map((name, k) => {
          const item = document.createElement("span");
          item.className = "ossnb-map-key ossnb-map-key-worker";
          const swatch = document.createElement("span");
          swatch.className = "ossnb-map-swatch";
          swatch.style.background = hues[k % hues.length];
          item.append(swatch, `${name} ${carried[k + 1].toLocaleString("en-US")}`);
          item.dataset.count = String(carried[k + 1]);
          item.dataset.worker = name;
          return item;
        }),
      );
      describe();
      return;
    }
    legend.replaceChildren(
      toggle,
      ...STATES.map(([name], k) => {
        const item = document.createElement("span");
        item.className = `ossnb-map-key ossnb-map-key-${name}`;
        item.title = NOTES[name];
        const swatch = document.createElement("span");
        swatch.className = "ossnb-map-swatch";
        swatch.style.background = c[k];
        item.append(swatch, `${name} ${counts[k].toLocaleString("en-US")}`);
        item.dataset.count = String(counts[k]);
        return item;
      }),
    );
    describe();
  }

  function schedule() {
    if (!frame) frame = requestAnimationFrame(draw);
  }

  function describe() {
    const number = pinned || hover;
    const { n, codes, fills, attempts } = data();
    if (!number || number > n) {
      info.textContent = `${n.toLocaleString("en-US")} part(s). Point at a cell for its range and attempts; click it for its ETag and CRC-64.`;
      return;
    }
    const partSize = model.get("part_size");
    const total = model.get("total_size");
    const offset = (number - 1) * partSize;
    const length = Math.max(0, Math.min(partSize, total - offset));
    const name = STATES[codes[number - 1] || 0][0];
    const by = data().workers[number - 1] || 0;
    const carrier = by ? ` · carried by ${(model.get("worker_names") || [])[by - 1]}` : "";
    let text = `part ${number}: bytes ${offset.toLocaleString("en-US")}–${Math.max(offset, offset + length - 1).toLocaleString("en-US")} (${size(length)}) · ${name} (${NOTES[name]}) · attempts ${attempts[number - 1] || 0}${carrier}`;
    if (name === "sending" || name === "retrying") text += ` · ${Math.round(((fills[number - 1] || 0) * 100) / 255)}% sent`;
    const d = details.get(number);
    if (d) {
      text += ` · ETag ${d.etag || "—"} · CRC-64 ${d.crc64 || "—"}`;
      if (d.error) text += ` · ${d.error}`;
    }
    info.textContent = text;
    info.dataset.part = String(number);
  }

  function at(event) {
    const rect = canvas.getBoundingClientRect();
    const { s, cols } = geometry;
    const col = Math.floor((event.clientX - rect.left) / s);
    const row = Math.floor((event.clientY - rect.top) / s);
    if (col < 0 || col >= cols || row < 0) return null;
    const number = row * cols + col + 1;
    return number <= model.get("count") ? number : null;
  }

  canvas.addEventListener("mousemove", (event) => {
    const number = at(event);
    if (number !== hover) {
      hover = number;
      schedule();
    }
  });
  canvas.addEventListener("mouseleave", () => {
    hover = null;
    schedule();
  });
  canvas.addEventListener("click", (event) => {
    const number = at(event);
    pinned = number === pinned ? null : number;
    if (pinned) model.send({ kind: "part", number: pinned });
    schedule();
  });
  const onMessage = (msg) => {
    if (msg && msg.kind === "part") {
      details.set(msg.number, { ...msg, code: data().codes[msg.number - 1] });
      describe();
    }
  };
  model.on("msg:custom", onMessage);
  const onChange = () => {
    const codes = data().codes;
    for (const [number, d] of details) if (d.code !== codes[number - 1]) details.delete(number);
    if (pinned && !details.has(pinned)) model.send({ kind: "part", number: pinned });
    schedule();
  };
  model.on("change:codes", onChange);
  model.on("change:count", onChange);
  model.on("change:colour_by", schedule);
  model.on("change:workers", schedule);
  const resize = new ResizeObserver(schedule);
  resize.observe(root);
  const themes = new MutationObserver(schedule);
  themes.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-name", "data-jp-theme-light"] });
  draw();
  return () => {
    resize.disconnect();
    themes.disconnect();
    model.off("msg:custom", onMessage);
    model.off("change:codes", onChange);
    model.off("change:count", onChange);
    model.off("change:colour_by", schedule);
    model.off("change:workers", schedule);
    if (frame) cancelAnimationFrame(frame);
  };
}

export default { render };
