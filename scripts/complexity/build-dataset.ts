/**
 * Builds the complexity classifier's labelled prompts (`packages/core/data/complexity/prompts.jsonl`)
 * from public prompt collections, each a training split or a collection that is not a benchmark's
 * test set. The tier of a prompt is the tier of its source (the labelling rule, see the data
 * README). Reads the collections from local git clones:
 *
 *   node scripts/complexity/build-dataset.ts MIRROR_ROOT
 *
 * where MIRROR_ROOT holds one bare clone per repository, named `owner+name/repo` (the commits used
 * are listed in the data README). Output order and sampling are deterministic.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fnv1a as fnv } from "./HeldOut.ts"

type Tier = "SIMPLE" | "MEDIUM" | "COMPLEX" | "REASONING"
interface Prompt {
  readonly text: string
  readonly tier: Tier
  readonly source: string
}

const root = process.argv[2]
if (root === undefined) {
  console.error("usage: node scripts/complexity/build-dataset.ts MIRROR_ROOT")
  process.exit(2)
}

const show = (repo: string, file: string, commit = "HEAD"): string =>
  execFileSync("git", ["--git-dir", path.join(root, repo, "repo"), "show", `${commit}:${file}`], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024
  })

const jsonLines = (text: string): Array<Record<string, unknown>> =>
  text.split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line) as Record<string, unknown>)


/** `n` items chosen by hash order: a deterministic sample that does not follow the file's order. */
const sample = <A>(items: ReadonlyArray<A>, n: number, key: (a: A) => string): Array<A> =>
  [...items].sort((a, b) => fnv(key(a)) - fnv(key(b))).slice(0, n)

/** RFC 4180 CSV: quoted fields may hold commas, quotes ("") and newlines. */
const parseCsv = (text: string): Array<Array<string>> => {
  const rows: Array<Array<string>> = []
  let row: Array<string> = []
  let field = ""
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"', i++)
      else if (c === '"') quoted = false
      else field += c
    } else if (c === '"') quoted = true
    else if (c === ",") (row.push(field), field = "")
    else if (c === "\n") (row.push(field), rows.push(row), row = [], field = "")
    else if (c !== "\r") field += c
  }
  if (field !== "" || row.length > 0) (row.push(field), rows.push(row))
  return rows
}

const clean = (s: string) => s.replace(/\r\n/g, "\n").trim()

const out: Array<Prompt> = []
const add = (source: string, tier: Tier, texts: ReadonlyArray<string>) => {
  for (const text of texts) if (text.trim() !== "") out.push({ text: clean(text), tier, source })
}

// SIMPLE: small talk (Microsoft Personality Chat, MIT): the queries of the three personas, deduplicated.
{
  const queries = new Set<string>()
  for (const persona of ["Friendly", "Humorous", "Professional"]) {
    const tsv = show("ntulsi+BotBuilder-PersonalityChat", `CSharp/Datasets/Queries_Responses_${persona}_QnAMaker.tsv`)
    for (const line of tsv.split("\n").slice(1)) {
      const query = line.split("\t")[0]?.trim()
      if (query) queries.add(query)
    }
  }
  add("personality-chat", "SIMPLE", [...queries])
}

// SIMPLE: factoid questions. HotpotQA training questions (CC BY-SA 4.0) and CommonsenseQA training
// questions without their options (MIT), both from Self-Instruct's T0 training mixture (Apache-2.0).
{
  const t0 = "data/finetuning/t0_train_50k/data_per_template"
  const hotpot = jsonLines(show("yizhongw+self-instruct", `${t0}/kilt_tasks_hotpotqa_straighforward_qa.jsonl`))
  add("hotpotqa-train", "SIMPLE", sample(hotpot.map((r) => String(r["prompt"])), 200, (s) => s))
  const csqa = jsonLines(show("yizhongw+self-instruct", `${t0}/commonsense_qa_question_answering.jsonl`))
  const questions = [...new Set(csqa.map((r) => String(r["prompt"]).split("\n\n")[0]!))]
  add("commonsenseqa-train", "SIMPLE", sample(questions, 150, (s) => s))
}

// MEDIUM: everyday writing and explanation tasks. Self-Instruct's 175 human-written seed tasks
// (Apache-2.0; instruction plus its first input), GPTeacher's role-play instructions (MIT).
{
  const seeds = jsonLines(show("yizhongw+self-instruct", "data/seed_tasks.jsonl"))
  add("self-instruct-seeds", "MEDIUM", seeds.map((r) => {
    const input = ((r["instances"] as Array<{ input: string }>)[0]?.input ?? "").trim()
    return input === "" ? String(r["instruction"]) : `${String(r["instruction"])}\n\n${input}`
  }))
  const roleplay = JSON.parse(show("teknium1+GPTeacher", "Roleplay/roleplay-simple-deduped-roleplay-instruct.json")) as Array<
    { instruction: string; input: string }
  >
  add("gpteacher-roleplay", "MEDIUM", sample(roleplay, 300, (r) => r.instruction).map((r) =>
    r.input.trim() === "" ? r.instruction : `${r.instruction}\n\n${r.input}`
  ))
  const commonGen = jsonLines(
    show("yizhongw+self-instruct", "data/finetuning/t0_train_50k/data_per_template/common_gen_Given_concepts_type_2.jsonl")
  )
  add("commongen-train", "MEDIUM", sample(commonGen.map((r) => String(r["prompt"])), 60, (s) => s))
}

// MEDIUM and COMPLEX: "Awesome ChatGPT Prompts" (CC0-1.0), the classic "I want you to act as …"
// prompts at commit 05455bed: MEDIUM, except those the collection marks for developers (COMPLEX),
// which also bring the collection's other developer prompts.
{
  const csv = parseCsv(show("f+awesome-chatgpt-prompts", "prompts.csv", "05455bed"))
  const header = csv[0]!
  const col = (name: string) => header.indexOf(name)
  const records = csv.slice(1).map((r) => ({ prompt: r[col("prompt")] ?? "", devs: r[col("for_devs")] === "TRUE", type: r[col("type")] }))
  const actAs = records.filter((r) => /^i want you to act/i.test(r.prompt))
  add("awesome-chatgpt-prompts", "MEDIUM", actAs.filter((r) => !r.devs).map((r) => r.prompt))
  add("awesome-chatgpt-prompts-devs", "COMPLEX", records.filter((r) => r.devs && r.type === "TEXT" && r.prompt.length < 4000).map((r) => r.prompt))
}

// COMPLEX: programming tasks. MBPP's training and validation problems (task_id 511-974; CC BY 4.0;
// the test split 11-510 is left out) and GPTeacher's code-generation instructions (MIT).
{
  const problems = jsonLines(show("muitiiifruckt+ASE", "mbpp.jsonl")).filter((r) => Number(r["task_id"]) >= 511)
  const asText = (r: Record<string, unknown>) =>
    `${String(r["text"])} Your code should pass these tests:\n\n${(r["test_list"] as Array<string>).join("\n")}`
  const inText = sample(problems, 260, asText)
  add("mbpp-train", "COMPLEX", inText.map(asText))
  // The other problems as a function to complete (a signature and a docstring with an example, as
  // code-completion prompts are written), so code-shaped prompts are learned too.
  const asSignature = (r: Record<string, unknown>): string => {
    const signature = String(r["code"]).split("\n").find((line) => line.startsWith("def "))
    const test = /^assert (.+)==(.+)$/.exec((r["test_list"] as Array<string>)[0]!.replace(/\s+$/, ""))
    if (signature === undefined || test === null) return ""
    return `${signature.trimEnd()}\n    """ ${String(r["text"])}\n    >>> ${test[1]!.trim()}\n    ${test[2]!.trim()}\n    """\n`
  }
  add("mbpp-train-signatures", "COMPLEX", problems.filter((r) => !inText.includes(r)).map(asSignature))
  const codegen = JSON.parse(show("teknium1+GPTeacher", "Codegen/codegen-instruct.json")) as Array<
    { instruction: string; input: string }
  >
  add("gpteacher-codegen", "COMPLEX", sample(codegen, 340, (r) => r.instruction).map((r) =>
    r.input.trim() === "" ? r.instruction : `${r.instruction}\n\n${r.input}`
  ))
}

// REASONING: math word problems (GSM8K's training split, MIT) and logic and math puzzles (the
// examples in Reasoning Gym's gallery, Apache-2.0, for the generators listed here).
{
  const gsm8k = jsonLines(show("openai+grade-school-math", "grade_school_math/data/train.jsonl"))
  add("gsm8k-train", "REASONING", sample(gsm8k.map((r) => String(r["question"])), 400, (s) => s))
  const puzzles = new Set([
    "advanced_geometry", "aiw", "arc_1d", "bf", "boxnet", "calendar_arithmetic", "circuit_logic", "codeio",
    "count_primes", "countdown", "course_schedule", "cryptarithm", "dice", "family_relationships", "futoshiki",
    "game_of_life", "graph_color", "gsm_symbolic", "intermediate_integration", "jugs", "kakurasu", "knight_swap",
    "knights_knaves", "largest_island", "mahjong_puzzle", "maze", "mini_sudoku", "modulo_grid", "n_queens",
    "number_sequence", "polynomial_equations", "propositional_logic", "puzzle24", "quantum_lock", "rectangle_count",
    "rotten_oranges", "rush_hour", "self_reference", "shortest_path", "simple_equations", "sokoban", "sudoku", "survo",
    "syllogism", "time_intervals", "tower_of_hanoi", "tsumego", "word_ladder", "zebra_puzzles", "coin_flip",
    "simple_integration", "polynomial_multiplication", "prime_factorization", "game_of_life_halting"
  ])
  const gallery = show("open-thought+reasoning-gym", "GALLERY.md")
  const texts: Array<string> = []
  for (const section of gallery.split(/^### /m).slice(1)) {
    const name = section.slice(0, section.indexOf("\n")).trim()
    if (!puzzles.has(name)) continue
    for (const example of section.split(/^Example \d+:\n/m).slice(1)) {
      const question = example.match(/^Question: ([\s\S]*?)\nAnswer:/)
      if (question?.[1] !== undefined) texts.push(question[1])
    }
  }
  add("reasoning-gym-gallery", "REASONING", texts)
}

// REASONING: algebra word problems with answer choices, AQuA-RAT's development split (Apache-2.0;
// its training file is too large to fetch here, and its test split is left out).
{
  const aqua = jsonLines(show("google-deepmind+AQuA", "dev.json"))
  add("aqua-rat-dev", "REASONING", aqua.map((r) => `${String(r["question"])}\nAnswer choices: ${(r["options"] as Array<string>).join(", ")}`))
}

// REASONING: first-order logic problems, FOLIO's training split (CC BY-SA 4.0): its premises and
// conclusion, put as a question.
{
  const folio = jsonLines(show("Yale-LILY+FOLIO", "data/v0.0/folio-train.jsonl"))
  const stories = new Map<string, string>()
  for (const r of folio) {
    const premises = (r["premises"] as Array<string>).map((p) => p.trim()).join("\n")
    stories.set(String(r["story_id"]), `${premises}\n\nBased on the above information, is the following statement true, false, or uncertain? ${String(r["conclusion"]).trim()}`)
  }
  add("folio-train", "REASONING", sample([...stories.values()], 200, (s) => s))
}

const seen = new Set<string>()
const unique = out.filter((p) => (seen.has(p.text) ? false : (seen.add(p.text), true)))
const file = path.join(import.meta.dirname, "../../packages/core/data/complexity/prompts.jsonl")
fs.writeFileSync(file, unique.map((p) => JSON.stringify(p)).join("\n") + "\n")
const counts = new Map<string, number>()
for (const p of unique) counts.set(`${p.tier} ${p.source}`, (counts.get(`${p.tier} ${p.source}`) ?? 0) + 1)
for (const [k, n] of [...counts].sort()) console.log(`${String(n).padStart(5)}  ${k}`)
console.log(`${unique.length} prompts → ${path.relative(process.cwd(), file)}`)
