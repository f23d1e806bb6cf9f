namespace MMEureka.Data;

/// <summary>
/// A 3x5 pixel font (digits, A-D, P, x, y and a few symbols), advance 4 pixels. Small enough that a two-digit
/// number fits inside one 8x8 patch of the policy's 48x48 input, and still legible there.
/// </summary>
public static class BitmapFont
{
    /// <summary>Glyph width and height in pixels.</summary>
    public const int Width = 3, Height = 5, Advance = 4;

    // Each glyph is five rows of three pixels, '#' = ink.
    static readonly Dictionary<char, string> Glyphs = new()
    {
        ['0'] = "###" + "#.#" + "#.#" + "#.#" + "###",
        ['1'] = ".#." + "##." + ".#." + ".#." + "###",
        ['2'] = "##." + "..#" + ".#." + "#.." + "###",
        ['3'] = "##." + "..#" + ".#." + "..#" + "##.",
        ['4'] = "#.#" + "#.#" + "###" + "..#" + "..#",
        ['5'] = "###" + "#.." + "##." + "..#" + "##.",
        ['6'] = ".##" + "#.." + "###" + "#.#" + "###",
        ['7'] = "###" + "..#" + ".#." + ".#." + ".#.",
        ['8'] = "###" + "#.#" + "###" + "#.#" + "###",
        ['9'] = "###" + "#.#" + "###" + "..#" + "##.",
        ['A'] = ".#." + "#.#" + "###" + "#.#" + "#.#",
        ['B'] = "##." + "#.#" + "##." + "#.#" + "##.",
        ['C'] = ".##" + "#.." + "#.." + "#.." + ".##",
        ['D'] = "##." + "#.#" + "#.#" + "#.#" + "##.",
        ['P'] = "##." + "#.#" + "##." + "#.." + "#..",
        ['x'] = "..." + "#.#" + ".#." + "#.#" + "...",
        ['y'] = "#.#" + "#.#" + ".##" + "..#" + "##.",
        ['-'] = "..." + "..." + "###" + "..." + "...",
        ['+'] = "..." + ".#." + "###" + ".#." + "...",
        ['.'] = "..." + "..." + "..." + "..." + ".#.",
        ['/'] = "..#" + "..#" + ".#." + "#.." + "#..",
        ['?'] = "##." + "..#" + ".#." + "..." + ".#.",
        [' '] = "..." + "..." + "..." + "..." + "...",
    };

    /// <summary>True when the font can draw the character.</summary>
    public static bool Has(char c) => Glyphs.ContainsKey(c);

    /// <summary>Whether pixel (x, y) of the glyph is ink; throws for a character the font lacks.</summary>
    public static bool Ink(char c, int x, int y) =>
        Glyphs.TryGetValue(c, out var g) ? g[y * Width + x] == '#' : throw new ArgumentException($"no glyph for '{c}'");

    /// <summary>Pixel width of a string (no trailing gap).</summary>
    public static int MeasureWidth(string text) => text.Length == 0 ? 0 : text.Length * Advance - 1;
}
