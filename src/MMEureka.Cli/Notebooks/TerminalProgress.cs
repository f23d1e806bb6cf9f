using Spectre.Console;

namespace MMEureka.Cli.Notebooks;

/// <summary>
/// Per-cell progress and timing on the terminal: a Spectre.Console spinner and coloured lines on an interactive
/// terminal, plain lines when output is redirected or CI is set. Writes to the writer it was given, never to
/// Console.Out, which the runner redirects into the cell's outputs.
/// </summary>
public sealed class TerminalProgress
{
    readonly TextWriter output;
    readonly IAnsiConsole? fancy;

    /// <summary>Progress to <paramref name="output"/>; <paramref name="interactive"/> picks the spinner and colours.</summary>
    public TerminalProgress(TextWriter output, bool interactive)
    {
        this.output = output;
        if (interactive)
            fancy = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Interactive = InteractionSupport.Yes });
    }

    /// <summary>Progress on the real console, plain when redirected or under CI.</summary>
    public static TerminalProgress ForConsole() =>
        new(Console.Out, !Console.IsOutputRedirected && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")));

    /// <summary>A heading line for a notebook.</summary>
    public void Notebook(string path, int codeCells) => Line($"notebook {path} ({codeCells} code cells)", "bold");

    /// <summary>Waits for a running cell, showing a spinner when interactive; returns what <paramref name="wait"/> returns.</summary>
    public bool Wait(string label, Func<bool> wait)
    {
        if (fancy is null)
        {
            output.WriteLine($"  {label} …");
            output.Flush();
            return wait();
        }
        bool result = false;
        fancy.Status().Start(Markup.Escape(label), _ => result = wait());
        return result;
    }

    /// <summary>A finished cell with its time; <paramref name="ok"/> picks the mark.</summary>
    public void CellDone(string label, TimeSpan elapsed, bool ok, string? note = null)
    {
        var text = $"  {(ok ? "ok  " : "FAIL")} {label}  {elapsed.TotalSeconds:F2} s{(note is null ? "" : "  " + note)}";
        Line(text, ok ? "green" : "red");
    }

    /// <summary>A line a long-running cell wrote (see <see cref="CellWatch"/>).</summary>
    public void CellLine(string text) => Line($"    | {text}", "grey");

    /// <summary>A long-running cell is still running after <paramref name="elapsed"/>.</summary>
    public void Heartbeat(string label, TimeSpan elapsed) =>
        Line($"  ...  {label}  still running, {(elapsed.TotalMinutes >= 1 ? $"{(int)elapsed.TotalMinutes} min {elapsed.Seconds:00} s" : $"{elapsed.TotalSeconds:F0} s")}", "grey");

    /// <summary>Any other line.</summary>
    public void Line(string text, string? style = null)
    {
        if (fancy is null || style is null) { output.WriteLine(text); output.Flush(); }
        else fancy.MarkupLine($"[{style}]{Markup.Escape(text)}[/]");
    }
}
