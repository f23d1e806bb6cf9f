using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace MMEureka.Cli.Notebooks;

/// <summary>A notebook file that cannot be read; the message names the file and, where it applies, the cell.</summary>
public sealed class NotebookFormatException(string message) : Exception(message);

/// <summary>One cell: its type, source, and (for code cells) the outputs of this run.</summary>
public sealed class NotebookCell
{
    /// <summary>1-based position in the notebook (what an editor shows).</summary>
    public required int Number { get; init; }

    /// <summary>"code", "markdown" or "raw".</summary>
    public required string Type { get; init; }

    /// <summary>The cell's source text.</summary>
    public required string Source { get; init; }

    /// <summary>nbformat 4.5 cell id (kept from the input, generated when missing).</summary>
    public required string Id { get; init; }

    /// <summary>The cell's metadata, kept as written (Polyglot's kernel name lives here).</summary>
    public required JsonObject Metadata { get; init; }

    /// <summary>Markdown/raw attachments, kept as written.</summary>
    public JsonObject? Attachments { get; init; }

    /// <summary>Outputs produced by this run (code cells).</summary>
    public List<JsonObject> Outputs { get; set; } = [];

    /// <summary>The execution counter, or null when the cell did not run.</summary>
    public int? ExecutionCount { get; set; }

    /// <summary>The first non-empty line of the source, for messages.</summary>
    public string FirstLine => Source.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0) ?? "";
}

/// <summary>
/// A Jupyter notebook (nbformat 4) as the runner sees it: validated on load with errors naming the file and cell,
/// written back as nbformat 4.5 with cell ids, the input's notebook metadata and each cell's metadata kept.
/// </summary>
public sealed class NotebookDocument
{
    static readonly Regex IdPattern = new("^[a-zA-Z0-9_-]{1,64}$");

    /// <summary>Where the notebook was read from.</summary>
    public required string Path { get; init; }

    /// <summary>The notebook-level metadata (kernelspec, language_info, polyglot_notebook …).</summary>
    public required JsonObject Metadata { get; init; }

    /// <summary>The cells in order.</summary>
    public required IReadOnlyList<NotebookCell> Cells { get; init; }

    /// <summary>The notebook's default kernel name (Polyglot's defaultKernelName, else the kernelspec language).</summary>
    public string DefaultKernel =>
        (Metadata["polyglot_notebook"]?["kernelInfo"]?["defaultKernelName"] as JsonValue)?.GetValue<string>()
        ?? (Metadata["kernelspec"]?["language"] as JsonValue)?.GetValue<string>()
        ?? "csharp";

    /// <summary>Reads and validates a notebook file.</summary>
    public static NotebookDocument Load(string path)
    {
        if (!File.Exists(path)) throw new NotebookFormatException($"{path}: file not found");
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { AllowTrailingCommas = false });
        }
        catch (JsonException e)
        {
            throw new NotebookFormatException($"{path}: not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message}");
        }
        if (root is not JsonObject nb) throw new NotebookFormatException($"{path}: the top level must be a JSON object");
        if (nb["nbformat"] is not JsonValue v || !v.TryGetValue(out int major))
            throw new NotebookFormatException($"{path}: missing or non-integer \"nbformat\" (expected 4)");
        if (major != 4) throw new NotebookFormatException($"{path}: nbformat {major} is not supported (expected 4)");
        var metadata = nb["metadata"] switch
        {
            null => new JsonObject(),
            JsonObject m => (JsonObject)m.DeepClone(),
            _ => throw new NotebookFormatException($"{path}: \"metadata\" must be an object"),
        };
        if (nb["cells"] is not JsonArray cellsJson) throw new NotebookFormatException($"{path}: missing \"cells\" array");

        var cells = new List<NotebookCell>();
        var ids = new HashSet<string>();
        for (int i = 0; i < cellsJson.Count; i++)
        {
            string where = $"{path}: cell {i + 1}";
            if (cellsJson[i] is not JsonObject c) throw new NotebookFormatException($"{where}: must be a JSON object");
            var type = (c["cell_type"] as JsonValue)?.TryGetValue(out string? t) == true ? t : null;
            if (type is not ("code" or "markdown" or "raw"))
                throw new NotebookFormatException($"{where}: \"cell_type\" must be \"code\", \"markdown\" or \"raw\" (got {c["cell_type"]?.ToJsonString() ?? "nothing"})");
            string source = c["source"] switch
            {
                JsonValue s when s.TryGetValue(out string? text) => text,
                JsonArray lines => string.Concat(lines.Select((l, j) => l is JsonValue lv && lv.TryGetValue(out string? line) ? line
                    : throw new NotebookFormatException($"{where}: \"source\" line {j + 1} is not a string"))),
                _ => throw new NotebookFormatException($"{where}: \"source\" must be a string or a list of strings"),
            };
            var cellMeta = c["metadata"] switch
            {
                null => new JsonObject(),
                JsonObject m => (JsonObject)m.DeepClone(),
                _ => throw new NotebookFormatException($"{where}: \"metadata\" must be an object"),
            };
            string? id = (c["id"] as JsonValue)?.TryGetValue(out string? s2) == true ? s2 : null;
            if (id is null || !IdPattern.IsMatch(id) || ids.Contains(id)) id = NewId(i, source, ids);
            ids.Add(id);
            cells.Add(new NotebookCell
            {
                Number = i + 1, Type = type, Source = source.Replace("\r\n", "\n"), Id = id, Metadata = cellMeta,
                Attachments = c["attachments"] is JsonObject a ? (JsonObject)a.DeepClone() : null,
                // Earlier outputs are kept in the model (a report can be made from an executed notebook); a run replaces them.
                Outputs = c["outputs"] is JsonArray outs ? outs.OfType<JsonObject>().Select(o => (JsonObject)o.DeepClone()).ToList() : [],
                ExecutionCount = c["execution_count"] is JsonValue ec && ec.TryGetValue(out int count) ? count : null,
            });
        }
        return new NotebookDocument { Path = path, Metadata = metadata, Cells = cells };
    }

    // Deterministic, so that re-running a notebook without ids gives the same file.
    static string NewId(int index, string source, HashSet<string> taken)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{index}\n{source}")));
        for (int n = 8; ; n++)
        {
            var id = hash[..Math.Min(n, hash.Length)];
            if (!taken.Contains(id)) return id;
        }
    }

    /// <summary>The notebook as nbformat 4.5 JSON (one-space indent, like Jupyter).</summary>
    public string ToJson()
    {
        var cells = new JsonArray();
        foreach (var c in Cells)
        {
            var o = new JsonObject
            {
                ["cell_type"] = c.Type,
                ["id"] = c.Id,
                ["metadata"] = c.Metadata.DeepClone(),
                ["source"] = Lines(c.Source),
            };
            if (c.Type == "code")
            {
                o["execution_count"] = c.ExecutionCount;
                o["outputs"] = new JsonArray(c.Outputs.Select(x => (JsonNode)x.DeepClone()).ToArray());
            }
            else if (c.Attachments is not null) o["attachments"] = c.Attachments.DeepClone();
            cells.Add(o);
        }
        var root = new JsonObject
        {
            ["cells"] = cells,
            ["metadata"] = Metadata.DeepClone(),
            ["nbformat"] = 4,
            ["nbformat_minor"] = 5,
        };
        return root.ToJsonString(new JsonSerializerOptions
        {
            WriteIndented = true, IndentSize = 1,
            // Keep HTML outputs readable in the file (and in diffs); the JSON is valid either way.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }) + "\n";
    }

    /// <summary>Writes the notebook atomically (temporary file in the same folder, then rename).</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, ToJson());

    /// <summary>Jupyter's multi-line string form: a list of lines, each but the last keeping its newline.</summary>
    public static JsonArray Lines(string text)
    {
        var result = new JsonArray();
        int start = 0;
        for (int i = 0; i < text.Length; i++)
            if (text[i] == '\n') { result.Add(text[start..(i + 1)]); start = i + 1; }
        if (start < text.Length) result.Add(text[start..]);
        return result;
    }
}

/// <summary>Writes files via a temporary name and a rename, so a crash never leaves half a file.</summary>
internal static class AtomicFile
{
    public static void WriteAllText(string path, string text)
    {
        var full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        var tmp = full + $".{Environment.ProcessId}.tmp";
        File.WriteAllText(tmp, text, new UTF8Encoding(false));
        File.Move(tmp, full, overwrite: true);
    }
}
