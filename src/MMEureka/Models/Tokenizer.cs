using System.Text;
using System.Text.Json;

namespace MMEureka.Models;

/// <summary>
/// Character tokenizer of the policy: ten single-token specials (ids 0..9), then '\n' (10) and printable
/// ASCII ' '..'~' (11..105). A special's exact text encodes to its one token; every other character,
/// '&lt;' included, is its own token. Saved as <c>tokenizer.json</c>, an object mapping id to text.
/// </summary>
public sealed class Tokenizer
{
    /// <summary>Padding; ignored by losses.</summary>
    public const int Pad = 0;
    /// <summary>Start of a text sequence.</summary>
    public const int Bos = 1;
    /// <summary>End of a text sequence; sampling stops here.</summary>
    public const int Eos = 2;
    /// <summary>Opens the reasoning span.</summary>
    public const int Think = 3;
    /// <summary>Closes the reasoning span.</summary>
    public const int EndThink = 4;
    /// <summary>Opens the final answer.</summary>
    public const int Answer = 5;
    /// <summary>Closes the final answer.</summary>
    public const int EndAnswer = 6;
    /// <summary>Marks the end of a step whose score the PRM reads.</summary>
    public const int Prm = 7;
    /// <summary>PRM label: the step is good.</summary>
    public const int Yes = 8;
    /// <summary>PRM label: the step is bad.</summary>
    public const int No = 9;

    /// <summary>The specials' texts, indexed by their ids 0..9.</summary>
    public static IReadOnlyList<string> Specials { get; } =
        ["<pad>", "<bos>", "<eos>", "<think>", "</think>", "<answer>", "</answer>", "<prm>", "<yes>", "<no>"];

    // Characters live below 128, so a flat table maps them; -1 = not in the vocabulary.
    private readonly int[] _charIds = new int[128];
    private readonly string[] _pieces;

    /// <summary>The standard vocabulary: specials, '\n', then ' '..'~' (106 tokens).</summary>
    public Tokenizer() : this(DefaultPieces()) { }

    private Tokenizer(string[] pieces)
    {
        _pieces = pieces;
        Array.Fill(_charIds, -1);
        for (int id = Specials.Count; id < pieces.Length; id++)
            _charIds[pieces[id][0]] = id;
    }

    /// <summary>Number of token ids (106 for the standard vocabulary).</summary>
    public int VocabSize => _pieces.Length;

    /// <summary>The text of one token id.</summary>
    public string this[int id] => (uint)id < (uint)_pieces.Length
        ? _pieces[id]
        : throw new ArgumentOutOfRangeException(nameof(id), id, $"token id must be in [0, {_pieces.Length})");

    /// <summary>True for the ids 0..9 of <see cref="Specials"/>.</summary>
    public static bool IsSpecial(int id) => (uint)id < (uint)Specials.Count;

    private static string[] DefaultPieces()
    {
        var pieces = new List<string>(Specials) { "\n" };
        for (char c = ' '; c <= '~'; c++)
            pieces.Add(c.ToString());
        return [.. pieces];
    }

    private static bool IsVocabularyChar(char c) => c == '\n' || (c >= ' ' && c <= '~');

    /// <summary>Text to token ids. Throws <see cref="ArgumentException"/> naming the first character that has no
    /// token and its position (normalise line endings, tabs or non-ASCII text first).</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length);
        int i = 0;
        while (i < text.Length)
        {
            int special = text[i] == '<' ? MatchSpecial(text.AsSpan(i)) : -1;
            if (special >= 0)
            {
                ids.Add(special);
                i += Specials[special].Length;
                continue;
            }
            char c = text[i];
            int id = c < 128 ? _charIds[c] : -1;
            if (id < 0)
                throw new ArgumentException(
                    $"character {Describe(c)} at position {i} is not in the tokenizer's vocabulary", nameof(text));
            ids.Add(id);
            i++;
        }
        return [.. ids];
    }

    private static int MatchSpecial(ReadOnlySpan<char> rest)
    {
        for (int s = 0; s < Specials.Count; s++)
            if (rest.StartsWith(Specials[s], StringComparison.Ordinal))
                return s;
        return -1;
    }

    private static string Describe(char c) =>
        c >= ' ' && c <= '~' ? $"'{c}' (U+{(int)c:X4})" : $"U+{(int)c:X4}";

    /// <summary>Token ids to text; with <paramref name="skipSpecial"/> the specials are left out.</summary>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecial = false)
    {
        var sb = new StringBuilder(ids.Length);
        for (int i = 0; i < ids.Length; i++)
        {
            int id = ids[i];
            if ((uint)id >= (uint)_pieces.Length)
                throw new ArgumentOutOfRangeException(nameof(ids),
                    $"token id {id} at position {i} is outside the vocabulary [0, {_pieces.Length})");
            if (skipSpecial && IsSpecial(id))
                continue;
            sb.Append(_pieces[id]);
        }
        return sb.ToString();
    }

    /// <summary>Writes tokenizer.json ({"0": "&lt;pad&gt;", ...}) through a temporary file and a rename.</summary>
    public void Save(string path)
    {
        var tmp = path + ".tmp";
        using (var stream = File.Create(tmp))
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions
               {
                   Indented = true,
                   // keep "<pad>" readable instead of "\u003Cpad\u003E"; the file is never embedded in HTML
                   Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
               }))
        {
            json.WriteStartObject();
            for (int id = 0; id < _pieces.Length; id++)
                json.WriteString(id.ToString(System.Globalization.CultureInfo.InvariantCulture), _pieces[id]);
            json.WriteEndObject();
        }
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Reads tokenizer.json. The ids must run 0..N-1 without gaps or repeats, ids 0..9 must be the
    /// specials in their fixed order (code refers to them by the constants above), and every later entry must
    /// be one distinct vocabulary character. Errors name the file and the id.</summary>
    public static Tokenizer Load(string path)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message})", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path}: expected an object mapping id to token text");
            var byId = new SortedDictionary<int, string>();
            foreach (var entry in doc.RootElement.EnumerateObject())
            {
                if (!int.TryParse(entry.Name, System.Globalization.NumberStyles.None,
                        System.Globalization.CultureInfo.InvariantCulture, out int id))
                    throw new InvalidDataException($"{path}: key \"{entry.Name}\" is not a non-negative integer id");
                if (entry.Value.ValueKind != JsonValueKind.String)
                    throw new InvalidDataException($"{path}: id {id}: value must be a string, got {entry.Value.ValueKind}");
                if (!byId.TryAdd(id, entry.Value.GetString()!))
                    throw new InvalidDataException($"{path}: id {id} appears twice");
            }
            return new Tokenizer(Validate(path, byId));
        }
    }

    private static string[] Validate(string path, SortedDictionary<int, string> byId)
    {
        if (byId.Count <= Specials.Count)
            throw new InvalidDataException(
                $"{path}: {byId.Count} entries; expected the {Specials.Count} specials followed by characters");
        var pieces = new string[byId.Count];
        var firstId = new Dictionary<string, int>(StringComparer.Ordinal);
        int expected = 0;
        foreach (var (id, text) in byId)
        {
            if (id != expected)
                throw new InvalidDataException($"{path}: id {expected} is missing (ids must run 0..{byId.Count - 1} without gaps)");
            if (firstId.TryGetValue(text, out int other))
                throw new InvalidDataException($"{path}: id {id}: \"{Escape(text)}\" duplicates id {other}");
            firstId[text] = id;
            if (id < Specials.Count)
            {
                if (text != Specials[id])
                    throw new InvalidDataException($"{path}: id {id} must be the special \"{Specials[id]}\", found \"{Escape(text)}\"");
            }
            else if (text.Length != 1)
            {
                throw new InvalidDataException(text.StartsWith('<') && text.EndsWith('>')
                    ? $"{path}: id {id}: unknown special \"{Escape(text)}\" (specials are ids 0..{Specials.Count - 1})"
                    : $"{path}: id {id}: \"{Escape(text)}\" is neither a special nor a single character");
            }
            else if (!IsVocabularyChar(text[0]))
            {
                throw new InvalidDataException($"{path}: id {id}: character {Describe(text[0])} is not printable ASCII or '\\n'");
            }
            pieces[id] = text;
            expected++;
        }
        return pieces;
    }

    private static string Escape(string s) => s.Replace("\n", "\\n");
}
