// Benchmark-only device side: many Kasa XOR-protocol plugs/strips in one Node process.
//
//     node benchmarks/devserver.js PLAN.json
//
// PLAN.json (written by benchmarks/devices.py from the project's own simulator) holds,
// per device, its sysinfo, its meter readings (per outlet on a strip) and canned
// answers for the other read-only methods. The hot path (get_sysinfo, get_realtime)
// is answered live: on_time counts, rssi and the readings wander, so a client that
// caches unchanged replies gains nothing a real plug would not give it. Relay and
// LED commands change the state. Loopback only: the host must be 127.x.y.z.
// Prints one {"host", "port"} line per device, then {"ready": true} (the same
// protocol as `tplink-tui simulate`), and serves until killed.
"use strict";
const net = require("net");
const fs = require("fs");

const plan = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const host = plan.host || "127.0.0.1";
if (!/^127\.\d+\.\d+\.\d+$/.test(host)) {
  process.stderr.write(`refusing non-loopback host ${host}\n`);
  process.exit(2);
}
const started = Date.now() / 1000;
const MAX_FRAME = 1 << 20;

function encrypt(buf) {
  const out = Buffer.allocUnsafe(buf.length + 4);
  out.writeUInt32BE(buf.length, 0);
  let key = 171;
  for (let i = 0; i < buf.length; i++) {
    key ^= buf[i];
    out[i + 4] = key;
  }
  return out;
}

function decrypt(buf, start, end) {
  const out = Buffer.allocUnsafe(end - start);
  let key = 171;
  for (let i = start; i < end; i++) {
    const c = buf[i];
    out[i - start] = c ^ key;
    key = c;
  }
  return out;
}

const MODULE_NOT_SUPPORT = { err_code: -1, err_msg: "module not support" };
const MEMBER_NOT_SUPPORT = { err_code: -2, err_msg: "member not support" };

class Device {
  constructor(spec) {
    this.sysinfo = spec.sysinfo;
    this.readings = spec.readings; // {"": reading} or {child_id: reading}
    this.canned = spec.canned; // {module: {method: result}}
    this.strip = Array.isArray(this.sysinfo.children);
    this.requests = 0;
  }

  wander(value, scale) {
    return Math.round(value * (1 + scale * Math.sin(this.requests / 7)));
  }

  getSysinfo() {
    const now = Date.now() / 1000;
    const info = Object.assign({}, this.sysinfo);
    info.rssi = -40 - (this.requests % 20);
    if (this.strip) {
      info.children = this.sysinfo.children.map((c) =>
        Object.assign({}, c, { on_time: c.state ? Math.floor(now - started) : 0 }),
      );
    } else {
      info.on_time = info.relay_state ? Math.floor(now - started) : 0;
    }
    return info;
  }

  getRealtime(context) {
    let key = "";
    if (this.strip) {
      const ids = context && context.child_ids;
      if (!Array.isArray(ids) || ids.length !== 1 || !(ids[0] in this.readings)) {
        return { err_code: -3, err_msg: "invalid argument" };
      }
      key = ids[0];
    }
    const base = this.readings[key];
    const out = Object.assign({}, base);
    for (const field of ["power_mw", "current_ma"]) {
      if (field in out) out[field] = this.wander(out[field], 0.05);
    }
    if ("voltage_mv" in out) out.voltage_mv = this.wander(out.voltage_mv, 0.005);
    if ("total_wh" in out) out.total_wh += Math.floor(this.requests / 100);
    return out;
  }

  setRelay(args, context) {
    const state = args && args.state ? 1 : 0;
    if (this.strip) {
      const ids = context && Array.isArray(context.child_ids) ? context.child_ids : null;
      this.sysinfo.children = this.sysinfo.children.map((c) =>
        !ids || ids.includes(c.id) ? Object.assign({}, c, { state }) : c,
      );
    } else {
      this.sysinfo.relay_state = state;
    }
    return { err_code: 0 };
  }

  handle(request) {
    this.requests++;
    const reply = {};
    const context = request.context;
    for (const module of Object.keys(request)) {
      if (module === "context") continue;
      const methods = request[module];
      const canned = this.canned[module];
      const live = module === "system" || module === "emeter";
      if (!canned && !live) {
        reply[module] = MODULE_NOT_SUPPORT;
        continue;
      }
      const out = {};
      for (const method of Object.keys(methods || {})) {
        const args = methods[method];
        if (module === "system" && method === "get_sysinfo") out[method] = this.getSysinfo();
        else if (module === "emeter" && method === "get_realtime" && this.readings)
          out[method] = this.getRealtime(context);
        else if (module === "system" && method === "set_relay_state")
          out[method] = this.setRelay(args, context);
        else if (module === "system" && method === "set_led_off") {
          this.sysinfo.led_off = args && args.off ? 1 : 0;
          out[method] = { err_code: 0 };
        } else if (canned && method in canned) out[method] = canned[method];
        else out[method] = MEMBER_NOT_SUPPORT;
      }
      reply[module] = out;
    }
    return reply;
  }
}

function serve(device, socket) {
  socket.setNoDelay(true);
  let buffer = Buffer.alloc(0);
  socket.on("data", (chunk) => {
    buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
    while (buffer.length >= 4) {
      const length = buffer.readUInt32BE(0);
      if (length > MAX_FRAME) {
        socket.destroy();
        return;
      }
      if (buffer.length < 4 + length) break;
      const plain = decrypt(buffer, 4, 4 + length);
      buffer = buffer.subarray(4 + length);
      let request;
      try {
        request = JSON.parse(plain.toString("utf8"));
      } catch (e) {
        request = null;
      }
      const reply =
        request && typeof request === "object" && !Array.isArray(request)
          ? device.handle(request)
          : { err_code: -1, err_msg: "json format error" };
      socket.write(encrypt(Buffer.from(JSON.stringify(reply), "utf8")));
    }
  });
  socket.on("error", () => {});
}

const devices = plan.devices.map((spec) => new Device(spec));
let pending = devices.length;
devices.forEach((device, i) => {
  const server = net.createServer((socket) => serve(device, socket));
  server.listen({ host, port: plan.base_port ? plan.base_port + i : 0, backlog: 4096 }, () => {
    device.port = server.address().port;
    if (--pending === 0) {
      for (const d of devices) process.stdout.write(JSON.stringify({ host, port: d.port }) + "\n");
      process.stdout.write(JSON.stringify({ ready: true }) + "\n");
    }
  });
  server.on("error", (e) => {
    process.stderr.write(`device ${i}: ${e.message}\n`);
    process.exit(1);
  });
});
process.on("SIGTERM", () => process.exit(0));
