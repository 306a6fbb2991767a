// An instant OpenAI-wire mock upstream for the gateway benchmark: answers
// `POST …/chat/completions` with a fixed small JSON body, or, when the request
// asks for `stream: true`, a short SSE stream ending in `data: [DONE]`, and
// `POST …/embeddings` with one 1536-float embedding, and `POST …/responses` with a
// Responses API answer (or its typed events when streamed), all
// written at once so every measured millisecond belongs to whoever is in front.
// Run as its own process (`node bench/gateway/mock.ts --port N`) so the load
// generator's event loop never competes with it.
import * as Http from "node:http"
import * as Canned from "./Canned.ts"

const streamPlain = Canned.stream(false)
const streamWithUsage = Canned.stream(true)

const json = (res: Http.ServerResponse, status: number, body: string): void => {
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
  res.end(body)
}

const server = Http.createServer((req, res) => {
  const parts: Array<Buffer> = []
  req.on("data", (b: Buffer) => parts.push(b))
  req.on("end", () => {
    if (req.method === "GET" && req.url === "/health") {
      json(res, 200, "{\"ok\":true}")
      return
    }
    if (req.method === "POST" && (req.url ?? "").split("?")[0]!.endsWith("/embeddings")) {
      json(res, 200, Canned.embeddings)
      return
    }
    const responses = req.method === "POST" && (req.url ?? "").split("?")[0]!.endsWith("/responses")
    if (!responses && (req.method !== "POST" || !(req.url ?? "").split("?")[0]!.endsWith("/chat/completions"))) {
      json(res, 404, JSON.stringify({ error: { message: "not found", type: "invalid_request_error", param: null, code: null } }))
      return
    }
    let body: { stream?: unknown; stream_options?: { include_usage?: unknown } }
    try {
      body = JSON.parse(Buffer.concat(parts).toString("utf8"))
    } catch {
      json(res, 400, JSON.stringify({ error: { message: "bad json", type: "invalid_request_error", param: null, code: null } }))
      return
    }
    if (responses) {
      if (body.stream !== true) return json(res, 200, Canned.response)
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
      res.end(Canned.responsesStream)
      return
    }
    if (body.stream === true) {
      const text = body.stream_options?.include_usage === true ? streamWithUsage : streamPlain
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
      res.end(text)
    } else {
      json(res, 200, Canned.completion)
    }
  })
})
server.keepAliveTimeout = 60_000

const portArg = process.argv.find((a) => a.startsWith("--port="))
const port = portArg === undefined ? 0 : Number(portArg.slice("--port=".length))
server.listen(port, "127.0.0.1", () => {
  const address = server.address()
  process.stdout.write(`listening ${typeof address === "object" && address !== null ? address.port : port}\n`)
})
process.on("SIGTERM", () => server.close(() => process.exit(0)))
