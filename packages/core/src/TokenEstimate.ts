/**
 * A quick token estimate for the pre-call context-window check: about four characters a
 * token for text, plus a small overhead per message and a flat cost per image. It errs
 * high on purpose; exact counting per tokenizer is a later concern.
 */
import type { ChatRequest } from "./Chat.ts"

const CHARS_PER_TOKEN = 4
const PER_MESSAGE = 4
const PER_IMAGE = 765

export const ofText = (text: string): number => Math.ceil(text.length / CHARS_PER_TOKEN)

export const ofRequest = (request: ChatRequest): number => {
  let tokens = 0
  for (const message of request.messages) {
    tokens += PER_MESSAGE
    const content = message.content
    if (typeof content === "string") tokens += ofText(content)
    else if (content) {
      for (const part of content) {
        if (part.type === "text" && typeof part.text === "string") tokens += ofText(part.text)
        else if (part.type === "image_url") tokens += PER_IMAGE
      }
    }
    if (message.role === "assistant") {
      for (const call of message.tool_calls ?? []) tokens += ofText(call.function.name + call.function.arguments)
    }
  }
  for (const tool of request.tools ?? []) tokens += ofText(JSON.stringify(tool))
  return tokens
}
