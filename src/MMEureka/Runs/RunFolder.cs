using System.Text.Json;
using System.Text.Json.Nodes;

namespace MMEureka.Runs;

/// <summary>
/// The folder one training or annotation run writes: <c>config.json</c> (the settings, compared on resume),
/// <c>metrics.jsonl</c> (one JSON object per line, each with a <c>step</c>), <c>checkpoint/</c> (written by the
/// caller through <see cref="Models.MiniVlm.Save"/>, which renames a finished temporary folder into place) holding
/// <c>trainer.json</c> with the step and seed. SFT, RL, annotation and PRM training share it, so that starting,
/// resuming, refusing a foreign configuration and trimming metrics behave the same everywhere.
/// </summary>
public sealed class RunFolder
{
    private readonly string _configJson;

    /// <summary>A run in <paramref name="dir"/> made with the settings <paramref name="configJson"/>.</summary>
    public RunFolder(string dir, string configJson)
    {
        Dir = Path.GetFullPath(dir);
        _configJson = configJson;
    }

    /// <summary>The run folder.</summary>
    public string Dir { get; }
    /// <summary>Name of the checkpoint folder inside a run folder.</summary>
    public const string CheckpointFolder = "checkpoint";
    /// <summary>The latest checkpoint.</summary>
    public string CheckpointDir => Path.Combine(Dir, CheckpointFolder);
    /// <summary>The settings of the run.</summary>
    public string ConfigPath => Path.Combine(Dir, "config.json");
    /// <summary>One JSON object per step and per evaluation.</summary>
    public string MetricsPath => Path.Combine(Dir, "metrics.jsonl");
    /// <summary>Sampled responses, for reading what the policy writes.</summary>
    public string SamplesPath => Path.Combine(Dir, "samples.jsonl");
    /// <summary>The trainer state inside the checkpoint (step, seed and whatever else the trainer records).</summary>
    public string TrainerStatePath => Path.Combine(CheckpointDir, TrainerStateFile);

    /// <summary>File name of the trainer state inside a checkpoint folder.</summary>
    public const string TrainerStateFile = "trainer.json";

    /// <summary>True when the folder holds a checkpoint made with these settings (a resume continues it, or
    /// reuses it when it has finished).</summary>
    public bool HasCompatibleCheckpoint =>
        File.Exists(TrainerStatePath) && File.Exists(ConfigPath) && File.ReadAllText(ConfigPath) == _configJson;

    /// <summary>True when config.json holds exactly these settings (whether or not a checkpoint exists yet).</summary>
    public bool HasCompatibleConfig => File.Exists(ConfigPath) && File.ReadAllText(ConfigPath) == _configJson;

    /// <summary>
    /// Begins a new run: refuses a folder that already holds a checkpoint unless <paramref name="overwrite"/>
    /// (then clears it), empties metrics.jsonl and the other <paramref name="logs"/> (file names in the folder),
    /// and writes config.json.
    /// </summary>
    public void Start(bool overwrite, params string[] logs)
    {
        if (Directory.Exists(CheckpointDir) && !overwrite)
            throw new IOException($"{Dir} already holds a run (checkpoint/); resume it or choose another folder");
        if (Directory.Exists(CheckpointDir)) Directory.Delete(CheckpointDir, true);
        Directory.CreateDirectory(Dir);
        File.WriteAllText(MetricsPath, "");
        foreach (var log in logs) File.Delete(Path.Combine(Dir, log));
        WriteAtomically(ConfigPath, _configJson);
    }

    /// <summary>
    /// Continues a run: checks that config.json holds the same settings and that the checkpoint's seed is
    /// <paramref name="seed"/>, and drops the lines written after the checkpoint's step from metrics.jsonl and the
    /// other <paramref name="logs"/>, so each reads as one uninterrupted run. Returns the trainer state.
    /// </summary>
    public JsonObject Resume(long seed, params string[] logs)
    {
        if (File.Exists(ConfigPath) && File.ReadAllText(ConfigPath) != _configJson)
            throw new InvalidDataException($"{ConfigPath}: the run was made with another configuration; resume it with the same settings or start a new run");
        if (!File.Exists(TrainerStatePath)) throw new FileNotFoundException($"cannot resume: {TrainerStatePath} does not exist", TrainerStatePath);
        var state = JsonNode.Parse(File.ReadAllText(TrainerStatePath)) as JsonObject
            ?? throw new InvalidDataException($"{TrainerStatePath}: expected a JSON object");
        int step = StateStep(state);
        long saved = state["seed"]?.GetValue<long>() ?? throw new InvalidDataException($"{TrainerStatePath}: field seed is missing");
        if (saved != seed) throw new InvalidDataException($"{TrainerStatePath}: run seed {saved} differs from the config's {seed}");
        foreach (var log in logs.Prepend("metrics.jsonl")) TrimLog(Path.Combine(Dir, log), step);
        WriteAtomically(ConfigPath, _configJson);
        return state;
    }

    /// <summary>The step recorded in a trainer state.</summary>
    public int StateStep(JsonObject state) =>
        state["step"]?.GetValue<int>() ?? throw new InvalidDataException($"{TrainerStatePath}: field step is missing");

    /// <summary>Writes trainer.json into a checkpoint folder being assembled (the <c>extra</c> callback of
    /// <see cref="Models.MiniVlm.Save"/>): the step, the seed and any further fields.</summary>
    public static void WriteTrainerState(string checkpointDir, int step, long seed, JsonObject? more = null)
    {
        var state = new JsonObject { ["step"] = step, ["seed"] = seed };
        if (more != null)
            foreach (var (key, value) in more) state[key] = value?.DeepClone();
        File.WriteAllText(Path.Combine(checkpointDir, TrainerStateFile), state.ToJsonString());
    }

    /// <summary>Opens metrics.jsonl (or another log of the folder) for appending.</summary>
    public StreamWriter OpenLog(string name = "metrics.jsonl") => new(Path.Combine(Dir, name), append: true);

    /// <summary>Appends one JSON object as a line and flushes, so a reader (a notebook, a crash) sees whole lines.</summary>
    public static void WriteLine(StreamWriter writer, JsonObject line)
    {
        writer.Write(line.ToJsonString());
        writer.Write('\n');
        writer.Flush();
    }

    /// <summary>Writes a file through a temporary name and a rename, so it is either the old text or the new one
    /// (its folder is created when missing).</summary>
    public static void WriteAtomically(string path, string text)
    {
        path = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }

    // Keeps the lines of steps up to the checkpoint's (a line without a step is dropped: it cannot be placed).
    private static void TrimLog(string path, int step)
    {
        if (!File.Exists(path)) return;
        var kept = File.ReadAllLines(path)
            .Where(l => l.Length > 0 && (JsonNode.Parse(l)?["step"]?.GetValue<int>() ?? int.MaxValue) <= step);
        WriteAtomically(path, string.Concat(kept.Select(l => l + "\n")));
    }

    /// <summary>Reads a metrics file into (step, key, value) rows, for charts; errors name the file and line.</summary>
    public static IReadOnlyList<(int step, string key, double value)> ReadMetrics(string path)
    {
        var rows = new List<(int, string, double)>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (line.Length == 0) continue;
            JsonObject o;
            try { o = JsonNode.Parse(line) as JsonObject ?? throw new FormatException("not an object"); }
            catch (Exception e) when (e is JsonException or FormatException) { throw new FormatException($"{path}:{lineNo}: {e.Message}", e); }
            int step = o["step"]?.GetValue<int>() ?? throw new FormatException($"{path}:{lineNo}: field step is missing");
            foreach (var (key, value) in o)
                if (key != "step" && value is JsonValue v && v.TryGetValue<double>(out var d)) rows.Add((step, key, d));
        }
        return rows;
    }

    /// <summary>One metric as (steps, values), in file order: what a chart of a training curve needs.</summary>
    public static (double[] steps, double[] values) Series(IReadOnlyList<(int step, string key, double value)> rows, string key)
    {
        var picked = rows.Where(r => r.key == key).ToList();
        return (picked.Select(r => (double)r.step).ToArray(), picked.Select(r => r.value).ToArray());
    }
}
