using System.Diagnostics;
using System.Text;

namespace MMEureka.Cli.Notebooks;

/// <summary>
/// Keeps the terminal alive while one cell runs. Once the cell has run for <see cref="EchoAfter"/>, the lines it
/// writes (a trainer's progress, say) are echoed to the terminal as they come, starting with the last few it wrote
/// before; whenever nothing was shown for <see cref="HeartbeatEvery"/>, a heartbeat line gives the elapsed time.
/// Quick cells stay quiet. After <see cref="Close"/> (the cell finished or timed out) nothing more is shown.
/// </summary>
public sealed class CellWatch
{
    /// <summary>Most lines held back from a cell's first seconds and shown when it turns out to be long.</summary>
    public const int HeldLines = 10;

    /// <summary>Longest echoed line; longer ones are cut with "…".</summary>
    public const int MaxLineLength = 200;

    readonly TerminalProgress progress;
    readonly string label;
    readonly Func<TimeSpan> clock;
    readonly object gate = new();
    readonly StringBuilder partial = new();
    readonly Queue<string> held = new();
    TimeSpan lastShown;
    bool echoing, closed;

    /// <summary>Watches the cell called <paramref name="label"/> (the clock starts now; tests may pass their own).</summary>
    public CellWatch(TerminalProgress progress, string label, TimeSpan? echoAfter = null, TimeSpan? heartbeatEvery = null, Func<TimeSpan>? clock = null)
    {
        this.progress = progress;
        this.label = label;
        if (clock is null)
        {
            var watch = Stopwatch.StartNew();
            clock = () => watch.Elapsed;
        }
        this.clock = clock;
        EchoAfter = echoAfter ?? TimeSpan.FromSeconds(5);
        HeartbeatEvery = heartbeatEvery ?? TimeSpan.FromSeconds(30);
    }

    /// <summary>How long a cell runs before its lines are echoed.</summary>
    public TimeSpan EchoAfter { get; }

    /// <summary>Longest quiet stretch before a heartbeat line.</summary>
    public TimeSpan HeartbeatEvery { get; }

    /// <summary>A writer that passes everything to <paramref name="inner"/> (the cell's outputs) and watches the lines.</summary>
    public TextWriter Tee(TextWriter inner) => new TeeWriter(inner, this);

    /// <summary>
    /// Waits for <paramref name="worker"/> up to <paramref name="limit"/> (null: as long as it takes), waking every
    /// few seconds to echo held lines and beat the heartbeat; true when it finished.
    /// </summary>
    public bool Join(Thread worker, TimeSpan? limit)
    {
        var slice = TimeSpan.FromMilliseconds(Math.Clamp(Math.Min(EchoAfter.TotalMilliseconds, HeartbeatEvery.TotalMilliseconds), 10, 1000));
        while (true)
        {
            var wait = slice;
            if (limit is TimeSpan l)
            {
                var left = l - clock();
                if (left <= TimeSpan.Zero) return worker.Join(0);
                if (left < wait) wait = left;
            }
            if (worker.Join(wait)) return true;
            Tick();
        }
    }

    /// <summary>Stops echoing: whatever the cell writes from now on stays out of the terminal.</summary>
    public void Close()
    {
        lock (gate) closed = true;
    }

    void Tick()
    {
        lock (gate)
        {
            if (closed) return;
            var now = clock();
            if (!echoing && now >= EchoAfter) StartEcho(now);
            if (now - lastShown >= HeartbeatEvery)
            {
                progress.Heartbeat(label, now);
                lastShown = now;
            }
        }
    }

    void StartEcho(TimeSpan now)
    {
        echoing = true;
        while (held.Count > 0) Show(held.Dequeue(), now);
    }

    void OnText(string text)
    {
        lock (gate)
        {
            if (closed) return;
            foreach (var ch in text)
            {
                if (ch == '\n') { OnLine(partial.ToString().TrimEnd('\r')); partial.Clear(); }
                else if (partial.Length <= MaxLineLength) partial.Append(ch);
            }
        }
    }

    void OnLine(string line)
    {
        var now = clock();
        if (!echoing && now >= EchoAfter) StartEcho(now);
        if (echoing) { Show(line, now); return; }
        held.Enqueue(line);
        if (held.Count > HeldLines) held.Dequeue();
    }

    void Show(string line, TimeSpan now)
    {
        progress.CellLine(line.Length > MaxLineLength ? line[..(MaxLineLength - 1)] + "…" : line);
        lastShown = now;
    }

    sealed class TeeWriter(TextWriter inner, CellWatch watch) : TextWriter
    {
        public override Encoding Encoding => inner.Encoding;
        public override void Write(char value) { inner.Write(value); watch.OnText(value.ToString()); }
        public override void Write(string? value) { inner.Write(value); watch.OnText(value ?? ""); }
        public override void Write(char[] buffer, int index, int count) { inner.Write(buffer, index, count); watch.OnText(new string(buffer, index, count)); }
        public override void Write(ReadOnlySpan<char> buffer) { inner.Write(buffer); watch.OnText(new string(buffer)); }
        public override void WriteLine(string? value) { inner.WriteLine(value); watch.OnText((value ?? "") + "\n"); }
        [System.Diagnostics.CodeAnalysis.AllowNull] public override string NewLine { get => "\n"; set { } }
    }
}
