/**
 * Why a request in one API's format cannot be translated into another's (a field the other cannot
 * carry), and the field at fault: thrown inside a translation and returned as its failure, so a
 * gateway route answers a 400 naming the field in its own API's error shape.
 */
export class Untranslatable {
  readonly message: string
  readonly param: string | null
  constructor(message: string, param: string | null) {
    this.message = message
    this.param = param
  }
}
