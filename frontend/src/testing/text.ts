/** Amounts hold together with no-break spaces; tests spell them with ordinary ones. */
export const plain = (text: string) => text.replace(/[\u00a0\u202f]/g, " ");
