using MMEureka.Cli.Notebooks;

namespace MMEureka.Cli.Tests.Notebooks;

/// <summary>
/// The terminal side of a running cell. The cells here are threads that wait for what the test looks for (never for
/// a fixed time), so the outcomes do not depend on the machine's speed; the waits have a hang guard only.
/// </summary>
public class CellWatchTests
{
    static readonly TimeSpan Guard = TimeSpan.FromMinutes(2);

    sealed class Terminal
    {
        readonly StringWriter text = new();
        public TerminalProgress Progress { get; }
        public Terminal() => Progress = new TerminalProgress(TextWriter.Synchronized(text), interactive: false);
        public string Text { get { lock (text) return text.ToString(); } }
        public void WaitFor(string part)
        {
            var deadline = DateTime.UtcNow + Guard;
            while (!Text.Contains(part))
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"never saw '{part}' in:\n{Text}");
                Thread.Sleep(5);
            }
        }
    }

    static Thread Cell(Action body)
    {
        var t = new Thread(() => body()) { IsBackground = true };
        t.Start();
        return t;
    }

    [Fact]
    public void QuickCellStaysOffTheTerminal()
    {
        var terminal = new Terminal();
        var watch = new CellWatch(terminal.Progress, "cell 1/1", echoAfter: TimeSpan.FromHours(1), heartbeatEvery: TimeSpan.FromHours(1));
        var cellOutput = new StringWriter();
        var stdout = watch.Tee(cellOutput);
        var worker = Cell(() => { stdout.WriteLine("step 1"); stdout.Write("step 2\n"); });
        Assert.True(watch.Join(worker, null));
        watch.Close();
        Assert.Equal("", terminal.Text);
        Assert.Equal("step 1\nstep 2\n", cellOutput.ToString()); // the notebook still gets everything
    }

    [Fact]
    public void LongCellEchoesItsLinesStartingWithTheLastOnesHeldBack()
    {
        var terminal = new Terminal();
        long now = 0; // the cell's clock, in milliseconds, moved by the test
        var watch = new CellWatch(terminal.Progress, "cell 3/9", echoAfter: TimeSpan.FromSeconds(5), heartbeatEvery: TimeSpan.FromHours(1),
            clock: () => TimeSpan.FromMilliseconds(Interlocked.Read(ref now)));
        var stdout = watch.Tee(new StringWriter());
        for (int i = 1; i <= CellWatch.HeldLines + 5; i++) stdout.WriteLine($"early {i}");
        Assert.Equal("", terminal.Text); // a cell younger than 5 s keeps quiet
        Interlocked.Exchange(ref now, 6000);
        var worker = Cell(() =>
        {
            stdout.Write("loss 0.5");
            stdout.WriteLine(" at step 100");
            terminal.WaitFor("loss 0.5 at step 100");
        });
        Assert.True(watch.Join(worker, null));
        var lines = terminal.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // The first 5 lines were dropped from the terminal; the last HeldLines came out in order, then the live line.
        Assert.Equal(Enumerable.Range(6, CellWatch.HeldLines).Select(i => $"    | early {i}").Append("    | loss 0.5 at step 100"), lines);
    }

    [Fact]
    public void QuietLongCellGetsHeartbeatsWithTheElapsedTime()
    {
        var terminal = new Terminal();
        var watch = new CellWatch(terminal.Progress, "cell 2/4: trainer.Run()", echoAfter: TimeSpan.FromMilliseconds(20), heartbeatEvery: TimeSpan.FromMilliseconds(40));
        var worker = Cell(() => terminal.WaitFor("still running"));
        Assert.True(watch.Join(worker, null));
        Assert.Matches(@"^  \.\.\.  cell 2/4: trainer\.Run\(\)  still running, \d+ s$", terminal.Text.Split('\n')[0]);
    }

    [Fact]
    public void AfterATimeoutNothingTheCellWritesReachesTheTerminal()
    {
        var terminal = new Terminal();
        using var release = new ManualResetEventSlim();
        using var wrote = new ManualResetEventSlim();
        var watch = new CellWatch(terminal.Progress, "cell 1/1", echoAfter: TimeSpan.Zero, heartbeatEvery: TimeSpan.FromHours(1));
        var stdout = watch.Tee(new StringWriter());
        var worker = Cell(() => { stdout.WriteLine("before"); release.Wait(Guard); stdout.WriteLine("after the timeout"); wrote.Set(); });
        terminal.WaitFor("before");
        Assert.False(watch.Join(worker, TimeSpan.FromMilliseconds(30)));
        watch.Close();
        release.Set();
        Assert.True(wrote.Wait(Guard));
        Assert.True(worker.Join(Guard));
        Assert.Equal("    | before\n", terminal.Text);
    }

    [Fact]
    public void LongLinesAreCut()
    {
        var terminal = new Terminal();
        var watch = new CellWatch(terminal.Progress, "c", echoAfter: TimeSpan.Zero, heartbeatEvery: TimeSpan.FromHours(1));
        var stdout = watch.Tee(new StringWriter());
        var worker = Cell(() => stdout.WriteLine(new string('x', 1000)));
        Assert.True(watch.Join(worker, null));
        var line = terminal.Text.TrimEnd('\n');
        Assert.Equal("    | " + new string('x', CellWatch.MaxLineLength - 1) + "…", line);
    }

    [Fact]
    public void NoCellTimeoutUnlessAsked()
    {
        var parse = Program.BuildRoot().Parse(["notebook", "run", "a.ipynb"]);
        Assert.Empty(parse.Errors);
        Assert.Null(new RunOptions().CellTimeout);
        var option = parse.CommandResult.Command.Options.Single(o => o.Name == "--cell-timeout");
        Assert.Null(parse.GetResult(option)?.GetValueOrDefault<double?>());
    }
}
