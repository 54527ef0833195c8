/**
 * Terminal control in text berth did not write (a container's output, a commit subject, a chat
 * line, an error an engine or a remote returned): it may move the cursor, rewrite the screen, set
 * the window title, ring the bell or hide text. Everything berth prints for people, and every chat
 * line it sends, goes through here. Pure.
 */

// Escape sequences, whole: CSI (`ESC [` params, final byte, or the one-byte C1 CSI), OSC and the
// string sequences DCS, SOS, PM, APC (up to BEL or ST, or the end of the line), and two-byte ones.
const ESCAPE_SEQUENCES =
  /(?:\u001b\[|\u009b)[\u0030-\u003f]*[\u0020-\u002f]*[\u0040-\u007e]?|(?:\u001b[\]PX^_]|[\u0090\u0098\u009d\u009e\u009f])[^\u0007\u001b\u009c\n]*(?:\u0007|\u001b\\|\u009c)?|\u001b[\u0020-\u002f]*[\u0030-\u007e]?/g;
/** C0 controls but tab and newline, DEL, C1 controls, and invisible format characters (bidi overrides, zero-width ones). */
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\p{Cf}]/gu;

/** `text` without terminal control: escape sequences removed whole, `\r\n` and `\r` made `\n`, other control and format characters removed; newlines and tabs stay. */
export function stripControl(text: string): string {
  return text.replace(ESCAPE_SEQUENCES, '').replace(/\r\n?/g, '\n').replace(CONTROL, '');
}

/** `text` stripped as stripControl does, on one line: newlines and tabs made spaces (a table cell, a one-line message). */
export function oneLine(text: string): string {
  return stripControl(text).replace(/[\n\t]+/g, ' ');
}
