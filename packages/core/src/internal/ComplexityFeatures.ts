/**
 * The complexity classifier's features, read in one pass over a prompt: hashed word unigrams and
 * bigrams (the vocabulary the model learned) plus named hand features that carry what generalises
 * beyond the training vocabulary (code shape, arithmetic, requests for proofs or step-by-step
 * reasoning, constraints, design and writing asks, small talk, length). The training script
 * (`scripts/complexity/train.ts`) and the router read prompts through this same function, so the
 * shipped weights mean what they meant in training.
 *
 * Scratch buffers are module-level and reused: `extract` is synchronous and never re-entered.
 */

/** Hashed vocabulary buckets (a power of two). */
export const BUCKETS = 8192

/** The hand features, in weight order after the buckets. Their names are the signals a route reports. */
export const HAND_FEATURES = [
  "bias",
  "length",
  "very-short",
  "numbers",
  "arithmetic",
  "money",
  "latex",
  "code-symbols",
  "code-lines",
  "code-fence",
  "identifiers",
  "stack-trace",
  "questions",
  "list-items",
  "lines",
  "sentences",
  "small-talk",
  "question-word",
  "opens-with-question",
  "opens-with-task",
  "code-words",
  "math-words",
  "reasoning-request",
  "proof",
  "puzzle",
  "design",
  "analysis",
  "writing",
  "explain",
  "constraints",
  "asks",
  "roleplay",
  "code-task",
  "word-problem",
  "chit-chat",
  "formula",
  "technical",
  "math-notation"
] as const
type HandFeature = typeof HAND_FEATURES[number]

export const FEATURE_COUNT = BUCKETS + HAND_FEATURES.length

/**
 * At most this many characters are read: a longer prompt is read at its head and its tail (where
 * the ask usually is), so one classification is bounded however large the request.
 */
const MAX_SCANNED_CHARS = 24_000
const HEAD_CHARS = 16_000

const F = Object.fromEntries(HAND_FEATURES.map((name, i) => [name, BUCKETS + i])) as Record<HandFeature, number>

// ── Hashing (FNV-1a over lower-cased char codes; bigrams mix two word hashes) ──

const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193
const NUMBER_HASH = 0x2545f491

const hashWord = (word: string): number => {
  let h = FNV_OFFSET
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), FNV_PRIME)
  return h >>> 0
}

const mixPair = (a: number, b: number): number => {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ b
  h = Math.imul(h ^ (h >>> 15), 0xc2b2ae35)
  return (h ^ (h >>> 13)) >>> 0
}

const bucketOf = (h: number): number => {
  const x = Math.imul(h ^ (h >>> 16), 0x7feb352d)
  return ((x ^ (x >>> 15)) >>> 0) & (BUCKETS - 1)
}

// ── Lexicon: words and two-word phrases that count toward a hand feature ──

const LEXICON: ReadonlyArray<readonly [HandFeature, string]> = [
  [
    "small-talk",
    "hello hi hey hiya howdy yo sup thanks thank thx ty bye goodbye goodnight cya lol haha hahaha ok okay cool awesome " +
    "great nice sorry please good_morning good_evening good_night good_afternoon how_are are_you you_doing whats_up " +
    "love_you miss_you my_friend you_are are_funny bored boring funny joke sweet welcome cheers congrats"
  ],
  ["question-word", "what who when where which whom whose how why is_there"],
  [
    "code-words",
    "code function functions method class classes def return returns python javascript typescript java rust golang go_program " +
    "cpp csharp kotlin swift ruby php perl scala haskell sql bash shell powershell html css react vue angular node nodejs npm " +
    "django flask spring api endpoint json xml yaml regex regular_expression array arrays list lists dict dictionary tuple " +
    "string strings integer integers int float boolean variable variables loop loops recursion recursive algorithm " +
    "implement implementation compile compiler runtime debug bug bugs refactor script program programs snippet library " +
    "module import package query database schema struct pointer pointers lambda iterate iterator parse parser async await " +
    "thread threads callback http https server client docker kubernetes git repository linux terminal command unit_test " +
    "tests test_case stdin stdout console print output input_string given_list sort sorting binary_search linked_list " +
    "hash_map data_structure time_complexity big_o"
  ],
  [
    "math-words",
    "calculate compute sum total product difference quotient remainder divide divided divisible multiply multiplied " +
    "percent percentage average mean median ratio fraction fractions equation equations solve solution integer integers " +
    "prime primes factor factors digit digits square root cube probability expected area perimeter volume radius " +
    "triangle circle rectangle angle degrees speed rate hours minutes per each twice half thrice dozen cost costs price " +
    "dollars cents profit earn earns earned spend spent pays paid saves saved miles km how_many how_much in_total " +
    "altogether left_over more_than less_than times_as value evaluate simplify integral derivative polynomial " +
    "matrix vector function_f modulo mod gcd lcm sequence series real_numbers positive_integers"
  ],
  [
    "reasoning-request",
    "step_by by_step think_through think_carefully reason_through reasoning s_think let’s_think lets_think show_your " +
    "your_work explain_your your_reasoning chain_of of_thought work_out figure_out carefully justify deduce infer " +
    "conclude logically logical rigorous rigorously"
  ],
  ["proof", "prove proof proofs theorem lemma corollary derive derivation show_that demonstrate_that induction contradiction qed"],
  [
    "puzzle",
    "puzzle puzzles riddle riddles logic knights knaves liar liars truth_teller truthful lies lying sudoku maze " +
    "grid cell cells houses clue clues who_owns brain_teaser statements statement true_or false_or " +
    "finished_before finished_after next_to sitting_next seated left_of right_of taller_than shorter_than " +
    "older_than younger_than exactly_one only_one neither_nor either_or always_lies always_tells the_truth " +
    "tells_the lateral"
  ],
  [
    "design",
    "design architecture architect scalable scalability distributed system systems microservice microservices " +
    "infrastructure pipeline deploy deployment optimize optimise optimization performance latency throughput " +
    "concurrency consistency fault_tolerant high_availability trade_offs tradeoffs tradeoff protocol framework " +
    "production cache caching load_balancer database_schema data_model state_machine"
  ],
  [
    "analysis",
    "analyze analyse analysis compare comparison contrast evaluate assess critique pros_and and_cons implications " +
    "consequences strategy strategies argue argument counterargument nuanced in_depth in-depth detailed comprehensive " +
    "thorough thoroughly research"
  ],
  [
    "writing",
    "write rewrite poem poems poetry story stories essay essays letter email emails blog post tweet slogan haiku " +
    "limerick song lyrics caption headline title summary summarize summarise paraphrase rephrase tagline speech " +
    "paragraph sentence sentences compose draft creative fiction dialogue toast invitation review"
  ],
  ["explain", "explain explanation describe description meaning define definition difference_between why_is why_do what_does"],
  [
    "constraints",
    "must should exactly at_least at_most no_more no_less without only ensure include including includes " +
    "require required requirements constraint constraints format formatted limit words_long each_of following " +
    "make_sure do_not don't never always"
  ],
  ["roleplay", "imagine pretend roleplay role-play act_as you_are persona character scenario role"],
  [
    "technical",
    "machine_learning neural network networks gradient descent regression transformer transformers embedding " +
    "embeddings quantum kernel compiler cryptography encryption blockchain statistical stochastic bayesian " +
    "inference entropy eigenvalue eigenvalues tensor tensors gpu cuda latency throughput tcp concurrency " +
    "overfitting regularization backpropagation convolutional reinforcement_learning deep_learning " +
    "differential topology thermodynamics relativity genome protein"
  ],
  [
    "math-notation",
    "sin cos tan cot log ln sqrt derivative derivatives integral integrals integrate differentiate limit lim dx dy " +
    "determinant eigenvalue polynomial polynomials logarithm exponent quadratic cubic asymptote converge converges " +
    "series_converge real_x all_real find_all modulo congruent prime_factorization"
  ]
]

/**
 * Word and phrase hashes → a bit set: bit i (i < 30) for the i-th lexicon feature, and two bits for
 * the words that open a question or a task. An open-addressing table of int32s: word hashes are
 * beyond V8's small integers, so a `Map` keyed by them would box every lookup.
 */
const TABLE_SIZE = 4096
const tableKeys = new Int32Array(TABLE_SIZE)
const tableBits = new Int32Array(TABLE_SIZE)
const OPENS_QUESTION = 1 << 30
const OPENS_TASK = 1 << 29
const FEATURE_BITS = (1 << 28) - 1
/** The word starts a lexicon phrase: only then is the next word's pair looked up. */
const STARTS_PHRASE = 1 << 28

/** Lexicon features in bit order. */
const LEXICON_FEATURE_OF_BIT: ReadonlyArray<number> = [...new Set(LEXICON.map(([feature]) => F[feature] - BUCKETS))]

const slotOf = (key: number): number => {
  let slot = Math.imul(key, 0x9e3779b1) >>> 20 // the top 12 bits
  while (tableKeys[slot] !== 0 && tableKeys[slot] !== key) slot = (slot + 1) & (TABLE_SIZE - 1)
  return slot
}

/** Table keys are word hashes as int32; 0 marks an empty slot, so a hash of 0 is stored as 1. */
const keyOf = (hash: number): number => (hash | 0) === 0 ? 1 : hash | 0

const addToTable = (hash: number, bits: number) => {
  const key = keyOf(hash)
  const slot = slotOf(key)
  tableKeys[slot] = key
  tableBits[slot]! |= bits
}

const lookup = (hash: number): number => {
  const key = keyOf(hash)
  let slot = Math.imul(key, 0x9e3779b1) >>> 20
  for (;;) {
    const k = tableKeys[slot]!
    if (k === key) return tableBits[slot]!
    if (k === 0) return 0
    slot = (slot + 1) & (TABLE_SIZE - 1)
  }
}

for (const [feature, words] of LEXICON) {
  const bit = 1 << LEXICON_FEATURE_OF_BIT.indexOf(F[feature] - BUCKETS)
  for (const entry of words.split(/\s+/)) {
    if (entry === "") continue
    const parts = entry.split("_")
    if (parts.length === 1) addToTable(hashWord(parts[0]!), bit)
    else {
      addToTable(hashWord(parts[0]!), STARTS_PHRASE)
      addToTable(mixPair(hashWord(parts[0]!), hashWord(parts[1]!)), bit)
    }
  }
}
for (const word of ("write create generate implement build make design develop find give list compose draft translate convert " +
  "solve prove calculate compute explain describe summarize summarise rewrite fix debug refactor optimize " +
  "analyze analyse compare classify identify suggest tell provide plan outline construct determine evaluate").split(" ")) {
  addToTable(hashWord(word), OPENS_TASK)
}
for (const word of "what who when where which whom whose how why is are do does did can could would should will was were".split(" ")) {
  addToTable(hashWord(word), OPENS_QUESTION)
}

const TRACEBACK = hashWord("traceback")
const EXCEPTION = hashWord("exception")
const ERROR = hashWord("error")
const AT = hashWord("at")
const LINE = hashWord("line")

// ── Scratch: counts per bucket and the buckets touched, reset after each read ──

const bucketCounts = new Float64Array(BUCKETS)
const touched = new Int32Array(BUCKETS)
const hand = new Float64Array(HAND_FEATURES.length)

/** One read prompt: the sparse vocabulary part and the dense hand features (values ready for the model). */
export interface Features {
  readonly touchedCount: number
  /** Bucket indices (first `touchedCount` entries valid). */
  readonly touched: Int32Array
  /** Bucket values, indexed by bucket. */
  readonly bucketValues: Float64Array
  /** Hand feature values, in `HAND_FEATURES` order. */
  readonly hand: Float64Array
}

const features: Features = { touchedCount: 0, touched, bucketValues: bucketCounts, hand }

let touchedCount = 0

const countBucket = (h: number) => {
  const b = bucketOf(h)
  if (bucketCounts[b] === 0) touched[touchedCount++] = b
  bucketCounts[b]! += 1
}

/** Counts a word's (or phrase's) lexicon features; returns its bits (opening-word bits included). */
const countLexicon = (hash: number): number => {
  const bits = lookup(hash)
  if (bits !== 0) {
    // Each set feature bit, lowest first (31 - clz32 of the lowest bit is its index).
    for (let rest = bits & FEATURE_BITS; rest !== 0; rest &= rest - 1) hand[LEXICON_FEATURE_OF_BIT[31 - Math.clz32(rest & -rest)]!]! += 1
  }
  return bits
}

/** Clears the scratch left by the previous read. */
const reset = () => {
  for (let i = 0; i < touchedCount; i++) bucketCounts[touched[i]!] = 0
  touchedCount = 0
  hand.fill(0)
}

const isWordChar = (c: number) => (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c >= 0x80

/**
 * Reads `text` once and returns its features. The result is a view of scratch buffers: valid until
 * the next call.
 */
export const extract = (text: string): Features => {
  reset()
  const length = text.length
  const scanned = length <= MAX_SCANNED_CHARS ? length : MAX_SCANNED_CHARS
  const tailStart = length - (MAX_SCANNED_CHARS - HEAD_CHARS)

  let words = 0
  let numbers = 0
  let arithmetic = 0
  let money = 0
  let latex = 0
  let codeSymbols = 0
  let codeLines = 0
  let fences = 0
  let identifiers = 0
  let stackTrace = 0
  let questions = 0
  let listItems = 0
  let lines = 1
  let sentences = 0
  let openingWords = 0
  let opensWithQuestion = 0
  let opensWithTask = 0
  let asks = 0
  let formula = 0
  let wordStartsWithDigit = false
  let wordLength = 0

  let h = FNV_OFFSET
  let inWord = false
  let wordIsNumber = true
  let wordHasUpperInside = false
  let wordHasUnderscore = false
  let prevLower = false
  let prevWord = 0
  let prevStartsPhrase = false
  let prevChar = 10 // as if after a newline
  let lastNonSpace = 10
  let lineIndent = 0
  let lineDigitsOnly = true
  let lineFirstWord = true
  let sentenceStart = true
  let lastLineChar = 10

  // One step past the end reads a space, which ends the last word (kept inline: a closure over
  // this loop's variables would move them all into a heap context).
  for (let i = 0; i <= scanned; i++) {
    const at = length <= MAX_SCANNED_CHARS || i < HEAD_CHARS ? i : tailStart + (i - HEAD_CHARS)
    let c = i === scanned ? 32 : text.charCodeAt(at)
    const upper = c >= 65 && c <= 90
    if (upper) c += 32
    if (isWordChar(c) || (c === 95 && inWord)) {
      if (!inWord) {
        inWord = true
        wordStartsWithDigit = c >= 48 && c <= 57
        wordLength = 0
        wordIsNumber = true
        wordHasUpperInside = false
        wordHasUnderscore = false
      } else if (upper && prevLower) wordHasUpperInside = true
      if (c === 95) wordHasUnderscore = true
      if (c < 48 || c > 57) {
        wordIsNumber = false
        lineDigitsOnly = false
      }
      h = Math.imul(h ^ c, FNV_PRIME)
      wordLength++
      prevLower = c >= 97 && c <= 122 && !upper
    } else {
      if (inWord) {
        const word = wordIsNumber ? NUMBER_HASH : h >>> 0
        words++
        if (wordIsNumber) numbers++
        // "5x", "2xy": a coefficient and its variable.
        else if (wordStartsWithDigit && wordLength <= 4 && prevChar >= 97 && prevChar <= 122) formula++
        if (wordHasUpperInside || wordHasUnderscore) identifiers++
        countBucket(word)
        const bits = countLexicon(word)
        if (prevWord !== 0) {
          const pair = mixPair(prevWord, word)
          countBucket(pair)
          if (prevStartsPhrase) countLexicon(pair)
        }
        // "    at foo (file.js:1:2)": a frame of a stack trace.
        if (word === AT && lineFirstWord && lineIndent > 0) stackTrace++
        if (word === TRACEBACK || word === EXCEPTION || word === ERROR) stackTrace++
        if (word === LINE && prevChar !== 10) stackTrace += 0.25
        if (sentenceStart) {
          if ((bits & OPENS_QUESTION) !== 0) {
            if (openingWords === 0) opensWithQuestion = 1
          } else if ((bits & OPENS_TASK) !== 0) {
            asks++
            if (openingWords === 0) opensWithTask = 1
          }
          sentenceStart = false
        }
        openingWords++
        lineFirstWord = false
        prevWord = word
        prevStartsPhrase = (bits & STARTS_PHRASE) !== 0
        h = FNV_OFFSET
        inWord = false
      }
      prevLower = false
      switch (c) {
        case 10: // newline
          lines++
          if (lastLineChar === 59 || lastLineChar === 123 || lastLineChar === 125 || lastLineChar === 41 || lastLineChar === 58) {
            codeLines++
          } else if (lineIndent >= 2 && lastLineChar !== 10) codeLines += 0.5
          lineIndent = 0
          lineFirstWord = true
          lineDigitsOnly = true
          sentenceStart = true
          prevWord = 0
          prevStartsPhrase = false
          break
        case 32:
        case 9:
          if (lastLineChar === 10) lineIndent += c === 9 ? 4 : 1
          break
        case 63: // ?
          questions++
          sentenceStart = true
          if (prevChar !== 63) asks++
          break
        case 46: // .
        case 41: // )
          if (lineDigitsOnly && lastLineChar >= 48 && lastLineChar <= 57) listItems++
          else if (c === 46 && prevChar !== 46) sentences++
          if (c === 46) sentenceStart = true
          break
        case 33: // !
          if (prevChar !== 33) sentences++
          sentenceStart = true
          break
        case 59: // ;
        case 123: // {
        case 125: // }
        case 91: // [
        case 93: // ]
          codeSymbols++
          break
        case 40: // (
          // A name directly followed by "(": a call or a definition.
          if (prevChar >= 97 && prevChar <= 122) codeSymbols += 0.5
          break
        case 42: // *
        case 45: // -
          if (lastLineChar === 10) listItems++
          else if (lastNonSpace >= 48 && lastNonSpace <= 57) arithmetic++
          break
        case 94: // ^
        case 61: // =
        case 43: // +
        case 47: // /
        case 37: // %
        case 60: // <
        case 62: // >
          if (c === 94) formula++
          if (c === 61 && prevChar === 61) codeSymbols++
          if (lastNonSpace >= 48 && lastNonSpace <= 57) arithmetic++
          break
        case 36: // $
          if (at + 1 < length) {
            const next = text.charCodeAt(at + 1)
            if (next >= 48 && next <= 57) money++
            else if (next === 92 || (next >= 97 && next <= 122) || (next >= 65 && next <= 90)) latex++
          }
          break
        case 92: // backslash
          if (at + 1 < length) {
            const next = text.charCodeAt(at + 1)
            if (next >= 97 && next <= 122) latex++
          }
          break
        case 96: // `
          if (prevChar === 96 && at >= 2 && text.charCodeAt(at - 2) === 96) fences++
          break
        default:
          break
      }
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) lineDigitsOnly = false
    }
    if (c !== 32 && c !== 9 && c !== 13) {
      if (c !== 10) lastNonSpace = c
      lastLineChar = c
    }
    prevChar = c
  }
  const log = Math.log1p
  hand[0] = 1
  hand[F.length - BUCKETS] = log(length) / 8
  hand[F["very-short"] - BUCKETS] = length < 40 ? 1 : 0
  hand[F.numbers - BUCKETS] = log(numbers) / 2
  hand[F.arithmetic - BUCKETS] = log(arithmetic) / 2
  hand[F.money - BUCKETS] = log(money)
  hand[F.latex - BUCKETS] = log(latex) / 2
  hand[F["code-symbols"] - BUCKETS] = log(codeSymbols) / 3
  hand[F["code-lines"] - BUCKETS] = log(codeLines) / 2
  hand[F["code-fence"] - BUCKETS] = fences > 0 ? 1 : 0
  hand[F.identifiers - BUCKETS] = log(identifiers) / 2
  hand[F["stack-trace"] - BUCKETS] = log(stackTrace)
  hand[F.questions - BUCKETS] = log(questions)
  hand[F["list-items"] - BUCKETS] = log(listItems)
  hand[F.lines - BUCKETS] = log(lines - 1) / 3
  hand[F.sentences - BUCKETS] = log(sentences) / 2
  hand[F["opens-with-question"] - BUCKETS] = opensWithQuestion
  hand[F["opens-with-task"] - BUCKETS] = opensWithTask
  hand[F.asks - BUCKETS] = log(asks)
  // Combinations a linear model cannot form itself: an ask about code, a question over several
  // numbers, a short remark in small-talk words.
  const codeWords = hand[F["code-words"] - BUCKETS]!
  const mathWords = hand[F["math-words"] - BUCKETS]!
  const smallTalk = hand[F["small-talk"] - BUCKETS]!
  hand[F["code-task"] - BUCKETS] = asks > 0 || opensWithTask === 1 ? log(codeWords + codeLines + codeSymbols / 4) : 0
  hand[F["word-problem"] - BUCKETS] = numbers >= 2 && (questions > 0 || mathWords > 0) ? log(numbers + mathWords) / 2 : 0
  hand[F["chit-chat"] - BUCKETS] = words <= 8 && smallTalk > 0 && numbers === 0 ? 1 : 0
  hand[F.formula - BUCKETS] = log(formula + latex) / 2
  // Lexicon counts → log scale.
  for (const index of LEXICON_FEATURE_OF_BIT) hand[index] = log(hand[index]!)

  // Vocabulary counts → log counts, scaled so long prompts do not swamp the hand features.
  const scale = 1 / Math.sqrt(1 + words)
  for (let i = 0; i < touchedCount; i++) {
    const b = touched[i]!
    bucketCounts[b] = log(bucketCounts[b]!) * scale
  }
  ;(features as { touchedCount: number }).touchedCount = touchedCount
  return features
}

