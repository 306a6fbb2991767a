#!/usr/bin/env node
/**
 * The `llm-router` executable: checks the Node.js version (plain JavaScript, so a too-old Node
 * gets one clear line) and only then loads the TypeScript command line in `src/bin.ts`.
 */
import "./NodeVersion.js"

await import("../src/bin.ts")
