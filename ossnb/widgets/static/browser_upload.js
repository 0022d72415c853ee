// The page's half of ossnb's browser upload (concatenated after hashes.js by the widget).
// The kernel asks for a part's hash, then hands a presigned URL; the page PUTs the slice.

const PROGRESS_EVERY_MS = 250;

function describe(file) {
  return `${file.name}|${file.size}|${file.lastModified}`;
}

function render({ model, el }) {
  const files = new Map(); // file id -> File
  const xhrs = new Map(); // "file#number" -> XMLHttpRequest
  const live = new Map(); // "file#number" -> token; a cancelled hash or PUT stops reporting

  el.classList.add("ossnb-bu");
  el.innerHTML = `
    <div class="ossnb-bu-drop" tabindex="0">
      <label class="ossnb-bu-choose">Choose files<input type="file" multiple hidden></label>
      <span class="ossnb-bu-hint">or drop them here, to <code class="ossnb-bu-target"></code></span>
    </div>
    <div class="ossnb-bu-status" role="status"></div>
    <div class="ossnb-bu-problem" role="alert"></div>
    <pre class="ossnb-bu-rule"></pre>
    <button class="ossnb-bu-add" type="button">Add this CORS rule to the bucket</button>`;
  const drop = el.querySelector(".ossnb-bu-drop");
  const input = el.querySelector("input[type=file]");
  const status = el.querySelector(".ossnb-bu-status");
  const problem = el.querySelector(".ossnb-bu-problem");
  const rule = el.querySelector(".ossnb-bu-rule");
  const add = el.querySelector(".ossnb-bu-add");

  function show() {
    el.querySelector(".ossnb-bu-target").textContent = model.get("target");
    status.textContent = model.get("status");
    problem.textContent = model.get("problem");
    problem.hidden = !model.get("problem");
    rule.textContent = model.get("cors_rule");
    rule.hidden = !model.get("cors_rule");
    add.hidden = !model.get("can_add_rule");
  }
  for (const name of ["target", "status", "problem", "cors_rule", "can_add_rule"]) {
    model.on(`change:${name}`, show);
  }
  show();

  function choose(list) {
    for (const file of list) {
      const id = describe(file);
      files.set(id, file);
      model.send({
        type: "chosen", file: id, name: file.name, size: file.size,
        lastModified: file.lastModified, origin: window.location.origin,
      });
    }
  }
  input.addEventListener("change", () => { choose(input.files); input.value = ""; });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("ossnb-bu-over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("ossnb-bu-over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("ossnb-bu-over");
    choose(e.dataTransfer.files);
  });
  add.addEventListener("click", () => model.send({ type: "add_cors" }));

  const current = (slot, token) => live.get(slot) === token;

  async function hash(msg, file, slot) {
    try {
      const got = await hashBlob(file.slice(msg.offset, msg.offset + msg.size));
      if (current(slot, msg.token)) {
        model.send({ type: "hashed", file: msg.file, number: msg.number, token: msg.token, ...got });
      }
    } catch (error) {
      if (current(slot, msg.token)) {
        model.send({ type: "failed", file: msg.file, number: msg.number, token: msg.token,
                     status: 0, message: `reading the file failed: ${error}` });
      }
    }
  }

  function put(msg, file, slot) {
    const xhr = new XMLHttpRequest();
    xhrs.set(slot, xhr);
    const report = (fields) => {
      if (current(slot, msg.token)) {
        model.send({ file: msg.file, number: msg.number, token: msg.token, ...fields });
      }
    };
    let last = 0;
    xhr.upload.onprogress = (e) => {
      const now = performance.now();
      if (now - last >= PROGRESS_EVERY_MS) { last = now; report({ type: "progress", sent: e.loaded }); }
    };
    xhr.onload = () => {
      xhrs.delete(slot);
      if (xhr.status === 200) {
        report({ type: "done", etag: xhr.getResponseHeader("ETag"),
                 server_crc64: xhr.getResponseHeader("x-oss-hash-crc64ecma") });
        return;
      }
      const text = xhr.responseText || "";
      const tag = (name) => (text.match(new RegExp(`<${name}>([^<]*)</${name}>`)) || [])[1] || "";
      report({ type: "failed", status: xhr.status, code: tag("Code"), message: tag("Message") });
    };
    xhr.onerror = () => { xhrs.delete(slot); report({ type: "failed", status: 0, message: "network error" }); };
    xhr.open("PUT", msg.url);
    xhr.setRequestHeader("Content-MD5", msg.md5_b64);
    xhr.send(file.slice(msg.offset, msg.offset + msg.size)); // a typeless slice: no Content-Type
  }

  function cancel(fileId) {
    for (const [slot, xhr] of xhrs) {
      if (slot.startsWith(`${fileId}#`)) { xhrs.delete(slot); live.delete(slot); xhr.abort(); }
    }
    for (const slot of [...live.keys()]) if (slot.startsWith(`${fileId}#`)) live.delete(slot);
  }

  model.on("msg:custom", (msg) => {
    const file = files.get(msg.file);
    if (msg.type === "pause" || msg.type === "stop") { cancel(msg.file); return; }
    if (msg.type === "begin") return;
    if (!file) {
      model.send({ type: "failed", file: msg.file, number: msg.number, token: msg.token, status: 0,
                   message: "this page no longer holds the file: choose it again to resume" });
      return;
    }
    const slot = `${msg.file}#${msg.number}`;
    live.set(slot, msg.token);
    if (msg.type === "hash") hash(msg, file, slot);
    else if (msg.type === "put") put(msg, file, slot);
  });
  return () => { for (const id of files.keys()) cancel(id); };
}

export default { render };
