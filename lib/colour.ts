import { createColors } from 'picocolors';

/**
 * picocolors with colour on: its default export decides from the environment once, at import,
 * so a renderer asked for colour could not give it. Callers pick between this and plain text.
 */
export const COLOURS = createColors(true);
