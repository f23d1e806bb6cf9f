using MMEureka.Models;

namespace MMEureka.Tests;

public class TokenizerTests
{
    private static readonly Tokenizer Tok = new();

    [Fact]
    public void Layout_matches_the_specification()
    {
        Assert.Equal(106, Tok.VocabSize);
        string[] specials = ["<pad>", "<bos>", "<eos>", "<think>", "</think>", "<answer>", "</answer>", "<prm>", "<yes>", "<no>"];
        for (int i = 0; i < specials.Length; i++)
            Assert.Equal(specials[i], Tok[i]);
        Assert.Equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
            new[] { Tokenizer.Pad, Tokenizer.Bos, Tokenizer.Eos, Tokenizer.Think, Tokenizer.EndThink,
                    Tokenizer.Answer, Tokenizer.EndAnswer, Tokenizer.Prm, Tokenizer.Yes, Tokenizer.No });
        Assert.Equal("\n", Tok[10]);
        Assert.Equal(" ", Tok[11]);
        Assert.Equal("0", Tok[11 + ('0' - ' ')]);
        Assert.Equal("~", Tok[105]);
    }

    [Theory]
    [InlineData("")]
    [InlineData("What is 3 + 4?")]
    [InlineData("line one\nline two\n")]
    [InlineData("<think>area = 6 * 7 = 42</think><answer>42</answer><eos>")]
    [InlineData("a < b and c > d, <thinking> is not a special, nor is <answer")]
    [InlineData(" !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")]
    public void Decode_of_Encode_is_identity(string text) => Assert.Equal(text, Tok.Decode(Tok.Encode(text)));

    [Fact]
    public void Random_strings_round_trip()
    {
        var rng = new Random(7);
        string alphabet = "\n" + string.Concat(Enumerable.Range(' ', '~' - ' ' + 1).Select(c => (char)c));
        for (int trial = 0; trial < 300; trial++)
        {
            var parts = new List<string>();
            int n = rng.Next(0, 40);
            for (int i = 0; i < n; i++)
                parts.Add(rng.Next(6) == 0
                    ? Tokenizer.Specials[rng.Next(Tokenizer.Specials.Count)]
                    : alphabet[rng.Next(alphabet.Length)].ToString());
            string text = string.Concat(parts);
            Assert.Equal(text, Tok.Decode(Tok.Encode(text)));
        }
    }

    [Fact]
    public void Specials_encode_to_one_token_and_characters_to_their_ids()
    {
        Assert.Equal([Tokenizer.Bos, 11 + ('x' - ' '), Tokenizer.Think, 10, Tokenizer.EndAnswer, Tokenizer.Eos],
            Tok.Encode("<bos>x<think>\n</answer><eos>"));
        // '<' that does not start a special is the plain character; "<yes" without '>' is four characters
        int lt = 11 + ('<' - ' ');
        Assert.Equal([lt, 11 + ('y' - ' '), 11 + ('e' - ' '), 11 + ('s' - ' ')], Tok.Encode("<yes"));
        Assert.Equal([lt, Tokenizer.No], Tok.Encode("<<no>"));
        Assert.Equal([Tokenizer.Prm, Tokenizer.Yes, Tokenizer.No, Tokenizer.Pad], Tok.Encode("<prm><yes><no><pad>"));
    }

    [Fact]
    public void Decode_can_skip_specials()
    {
        int[] ids = Tok.Encode("<bos><think>2+2</think><answer>4</answer><eos><pad><pad>");
        Assert.Equal("2+24", Tok.Decode(ids, skipSpecial: true));
        Assert.Equal("<bos><think>2+2</think><answer>4</answer><eos><pad><pad>", Tok.Decode(ids));
    }

    [Theory]
    [InlineData("tab\there", '\t', 3)]
    [InlineData("crlf\r\n", '\r', 4)]
    [InlineData("caf\u00e9", '\u00e9', 3)]
    [InlineData("<think>\u00d7", '\u00d7', 7)]
    public void Unknown_characters_throw_naming_character_and_position(string text, char bad, int position)
    {
        var e = Assert.Throws<ArgumentException>(() => Tok.Encode(text));
        Assert.Contains($"U+{(int)bad:X4}", e.Message);
        Assert.Contains($"position {position}", e.Message);
    }

    [Fact]
    public void Decode_rejects_ids_outside_the_vocabulary()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Tok.Decode([12, 106]));
        Assert.Contains("106", e.Message);
        Assert.Contains("position 1", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Tok.Decode([-1]));
    }

    [Fact]
    public void Save_then_Load_is_identity()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "tokenizer.json");
        Tok.Save(path);
        Assert.False(File.Exists(path + ".tmp"));
        var loaded = Tokenizer.Load(path);
        Assert.Equal(Tok.VocabSize, loaded.VocabSize);
        for (int id = 0; id < Tok.VocabSize; id++)
            Assert.Equal(Tok[id], loaded[id]);
        const string text = "<think>x = 3\ny = x * 2</think><answer>6</answer>";
        Assert.Equal(Tok.Encode(text), loaded.Encode(text));
        // The file is the documented object: "0" -> "<pad>", "10" -> "\n".
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
        Assert.Equal("<pad>", doc.RootElement.GetProperty("0").GetString());
        Assert.Equal("\n", doc.RootElement.GetProperty("10").GetString());
        Assert.Equal("~", doc.RootElement.GetProperty("105").GetString());
    }

    [Fact]
    public void Load_accepts_a_reordered_character_table()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "tokenizer.json");
        File.WriteAllText(path, Json(Standard().Select(e => e.Id switch { 11 => (11, "!"), 12 => (12, " "), _ => e })));
        var t = Tokenizer.Load(path);
        Assert.Equal([12, 11], t.Encode(" !"));
        Assert.Equal(" !", t.Decode([12, 11]));
    }

    public static TheoryData<string, string> MalformedFiles() => new()
    {
        { Json(Standard().Where(e => e.Id != 50)), "id 50 is missing" },
        { Json(Standard().Select(e => e.Id == 60 ? (60, "a") : e)), "id 76: \"a\" duplicates id 60" },
        { Json(Standard().Select(e => e.Id == 3 ? (3, "<thonk>") : e)), "id 3 must be the special \"<think>\"" },
        { Json(Standard().Select(e => e.Id == 40 ? (40, "<maybe>") : e)), "id 40: unknown special \"<maybe>\"" },
        { Json(Standard().Select(e => e.Id == 40 ? (40, "ab") : e)), "id 40: \"ab\" is neither" },
        { Json(Standard().Select(e => e.Id == 40 ? (40, "\t") : e)), "id 40: character U+0009" },
        { Json(Standard().Take(10)), "10 entries" },
        { "{\"0\": \"<pad>\", \"0\": \"<bos>\"}", "id 0 appears twice" },
        { "{\"zero\": \"<pad>\"}", "key \"zero\"" },
        { "{\"-1\": \"<pad>\"}", "key \"-1\"" },
        { "{\"0\": 5}", "id 0: value must be a string" },
        { "[\"<pad>\"]", "expected an object" },
        { "{\"0\": \"<pad>\"", "not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(MalformedFiles))]
    public void Load_rejects_malformed_files_naming_file_and_id(string content, string expected)
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "tokenizer.json");
        File.WriteAllText(path, content);
        var e = Assert.Throws<InvalidDataException>(() => Tokenizer.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
    }

    private static IEnumerable<(int Id, string Text)> Standard() =>
        Enumerable.Range(0, Tok.VocabSize).Select(i => (i, Tok[i]));

    private static string Json(IEnumerable<(int Id, string Text)> entries) =>
        System.Text.Json.JsonSerializer.Serialize(entries.ToDictionary(e => e.Id.ToString(), e => e.Text));

    private sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("tok-test-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
