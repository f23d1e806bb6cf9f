using System.Text;
using System.Text.Json.Nodes;

namespace MMEureka.Cli.Notebooks;

/// <summary>
/// Collects one cell's outputs in nbformat shape, in the order they happen: stream text (consecutive writes to the
/// same stream merge), display data, results and errors. Thread-safe, because the cell runs on its own thread; after
/// <see cref="Close"/> further writes are dropped (a timed-out cell's thread may still be running).
/// </summary>
public sealed class CellOutputs
{
    readonly object gate = new();
    readonly List<JsonObject> outputs = [];
    string? lastStream;
    StringBuilder? streamText;
    bool closed;

    /// <summary>
    /// Called with each output as it happens (stream writes as separate chunks), under the outputs' lock so in order;
    /// the kernel publishes them live. Must return quickly.
    /// </summary>
    public Action<JsonObject>? Live { get; init; }

    /// <summary>Appends text to the stdout or stderr stream output.</summary>
    public void Stream(string name, string text)
    {
        if (text.Length == 0) return;
        lock (gate)
        {
            if (closed) return;
            if (lastStream != name || streamText is null)
            {
                FlushStream();
                lastStream = name;
                streamText = new StringBuilder();
                outputs.Add(new JsonObject { ["output_type"] = "stream", ["name"] = name });
            }
            streamText.Append(text);
            Live?.Invoke(new JsonObject { ["output_type"] = "stream", ["name"] = name, ["text"] = text });
        }
    }

    /// <summary>Adds a display_data output, or an execute_result when <paramref name="executionCount"/> is given.</summary>
    public void Data(IReadOnlyDictionary<string, string> data, int? executionCount = null)
    {
        var bundle = new JsonObject();
        // nbformat stores JSON MIME types (application/json, application/vnd.plotly.v1+json ...) as JSON, the rest as lines.
        foreach (var (mime, content) in data) bundle[mime] = IsJson(mime) ? JsonNode.Parse(content) : NotebookDocument.Lines(content);
        var o = new JsonObject { ["output_type"] = executionCount is null ? "display_data" : "execute_result" };
        if (executionCount is int n) o["execution_count"] = n;
        o["data"] = bundle;
        o["metadata"] = new JsonObject();
        Add(o);
    }

    /// <summary>True for MIME types whose value nbformat keeps as a JSON object rather than text.</summary>
    public static bool IsJson(string mime) => mime == "application/json" || (mime.StartsWith("application/") && mime.EndsWith("+json"));

    /// <summary>Adds an error output (Jupyter's ename / evalue / traceback).</summary>
    public void Error(string ename, string evalue, IEnumerable<string> traceback) =>
        Add(new JsonObject
        {
            ["output_type"] = "error",
            ["ename"] = ename,
            ["evalue"] = evalue,
            ["traceback"] = new JsonArray(traceback.Select(l => (JsonNode)JsonValue.Create(l)!).ToArray()),
        });

    /// <summary>Stops accepting outputs.</summary>
    public void Close()
    {
        lock (gate) { FlushStream(); closed = true; }
    }

    /// <summary>The outputs so far.</summary>
    public List<JsonObject> Snapshot()
    {
        lock (gate)
        {
            FlushStream();
            return outputs.Select(o => (JsonObject)o.DeepClone()).ToList();
        }
    }

    /// <summary>A writer that feeds a stream output (for Console.SetOut / SetError).</summary>
    public TextWriter Writer(string streamName) => new StreamWriter(this, streamName);

    void Add(JsonObject output)
    {
        lock (gate)
        {
            if (closed) return;
            FlushStream();
            lastStream = null;
            streamText = null;
            outputs.Add(output);
            Live?.Invoke((JsonObject)output.DeepClone());
        }
    }

    // Writes the pending stream text into its output object; the object stays last until something else is added.
    void FlushStream()
    {
        if (streamText is not null && outputs.Count > 0 && outputs[^1]["output_type"]?.GetValue<string>() == "stream")
            outputs[^1]["text"] = NotebookDocument.Lines(streamText.ToString());
    }

    sealed class StreamWriter(CellOutputs owner, string name) : TextWriter
    {
        public override Encoding Encoding => Encoding.UTF8;
        public override void Write(char value) => owner.Stream(name, value.ToString());
        public override void Write(string? value) => owner.Stream(name, value ?? "");
        public override void Write(char[] buffer, int index, int count) => owner.Stream(name, new string(buffer, index, count));
        public override void Write(ReadOnlySpan<char> buffer) => owner.Stream(name, new string(buffer));
        public override void WriteLine(string? value) => owner.Stream(name, (value ?? "") + "\n");
        [System.Diagnostics.CodeAnalysis.AllowNull] public override string NewLine { get => "\n"; set { } }
    }
}
