/** Types of `NodeVersion.js` (plain JavaScript, so that any Node can parse it), for the tests. */
export declare const required: { readonly major: number; readonly minor: number }
export declare const suggestion: (script: string | undefined, args: ReadonlyArray<string>) => string
export declare const problem: (version: string, script: string | undefined, args?: ReadonlyArray<string>) => string | undefined
