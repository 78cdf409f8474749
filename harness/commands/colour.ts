/**
 * The colour rule of every hclckpt command, as most CLI tools read it: FORCE_COLOR decides when
 * set ("0" or "false" off, anything else on; https://force-color.org), else a non-empty NO_COLOR
 * turns colour off (https://no-color.org), else colour only on a TTY. Read here, at the CLI's
 * edge; lib/ renderers take the answer as a parameter.
 */
export function useColour(stream: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  const force = env['FORCE_COLOR'];
  if (force !== undefined) return force !== '0' && force !== 'false';
  if ((env['NO_COLOR'] ?? '') !== '') return false;
  return stream.isTTY === true;
}
