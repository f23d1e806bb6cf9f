namespace MMEureka.Cli.Tests;

/// <summary>Runs the <c>mmeureka</c> command in-process with the console captured (the CLI tests' one entry point).</summary>
internal static class CliHarness
{
    /// <summary>Exit code, standard output and standard error of <c>mmeureka ARGS</c>.</summary>
    public static (int code, string stdout, string stderr) Run(params string[] args)
    {
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        var (o, e) = (new StringWriter(), new StringWriter());
        Console.SetOut(o);
        Console.SetError(e);
        try { return (Program.Main(args), o.ToString(), e.ToString()); }
        finally { Console.SetOut(oldOut); Console.SetError(oldErr); }
    }
}
