using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Scripting;

namespace MMEureka.Cli.Notebooks;

/// <summary>
/// The one C# engine behind both hosts (<c>mmeureka notebook run</c> and <c>mmeureka kernel</c>): a Roslyn scripting
/// session as .NET Interactive's C# kernel runs it (RunAsync, then each cell continues the previous state; latest
/// language version; its default imports; display/HTML/CSS/Javascript as globals; #r relative to the notebook's
/// folder). A cell compiles on the caller's thread and runs on its own thread, so that the host can wait with a
/// timeout or interrupt it; its console writes and displays go to that cell's <see cref="CellOutputs"/>.
/// </summary>
public sealed class CellSession
{
    // The cell a thread works for: set on the cell's thread and flowing into the tasks and threads it starts, so that
    // a cell that was given up on (timeout, interrupt) keeps writing into its own closed outputs, not the next cell's.
    static readonly AsyncLocal<CellOutputs?> CurrentOutputs = new();
    static readonly AsyncLocal<CellExecution?> CurrentExecution = new();
    static readonly AsyncLocal<(TextWriter Out, TextWriter Error)?> CurrentConsole = new();
    static readonly TextWriter StdoutRouter = new RoutingWriter("stdout"), StderrRouter = new RoutingWriter("stderr");

    static readonly Lazy<MetadataReference[]> FrameworkReferences = new(() =>
    {
        // Every managed assembly of the shared framework, as a notebook host makes the whole BCL available.
        var dir = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        return Directory.GetFiles(dir, "*.dll")
            .Where(IsManagedAssembly)
            .Select(f => (MetadataReference)MetadataReference.CreateFromFile(f))
            .ToArray();
    });

    readonly ScriptOptions options;
    readonly ScriptGlobals globals = new();
    ScriptState<object>? state;

    /// <summary>A fresh session whose relative <c>#r</c> and <c>#load</c> paths resolve against <paramref name="folder"/>.</summary>
    public CellSession(string folder)
    {
        Folder = Path.GetFullPath(folder);
        options = ScriptOptions.Default
            .WithLanguageVersion(LanguageVersion.Latest)
            .WithReferences(FrameworkReferences.Value)
            .AddReferences(typeof(CellSession).Assembly) // for the loop checkpoints (WithCheckpoints)
            .WithImports(NotebookRunner.DefaultImports)
            .WithMetadataResolver(ScriptMetadataResolver.Default.WithBaseDirectory(Folder))
            .WithSourceResolver(ScriptSourceResolver.Default.WithBaseDirectory(Folder))
            .WithOptimizationLevel(OptimizationLevel.Release)
            .WithAllowUnsafe(true);
    }

    /// <summary>The notebook's folder.</summary>
    public string Folder { get; }

    /// <summary>
    /// <paramref name="code"/> as the next cell, not run: what a cell compiles to, and what the kernel's completion
    /// and inspection read (the cells that ran so far are its previous submissions).
    /// </summary>
    public Script<object> Continue(string code) => state is null
        ? CSharpScript.Create(code, options, typeof(ScriptGlobals))
        : state.Script.ContinueWith(code, options);

    /// <summary>
    /// Checks the cell's directives and compiles it; <see cref="CellExecution.Start"/> then runs it on its own thread.
    /// A directive or compile error is written to <paramref name="outputs"/> and returned as
    /// <see cref="CellExecution.Failure"/>, and the cell cannot be started.
    /// </summary>
    public CellExecution Compile(NotebookCell cell, CellOutputs outputs, int executionCount)
    {
        var execution = new CellExecution(this, cell, outputs, executionCount);
        var code = NotebookRunner.CheckDirectives(cell, Folder, out var directiveError);
        if (directiveError is not null)
        {
            outputs.Error("DirectiveError", directiveError, [directiveError]);
            execution.Failure = directiveError;
            return execution;
        }
        var script = Continue(WithCheckpoints(code));
        List<string> lines;
        try
        {
            lines = script.Compile().Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => Diagnostic(d, cell)).ToList();
            // Report positions in the code as written, not as rewritten (the rewritten code's, should only it fail).
            if (lines.Count > 0 && Continue(code).Compile().Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => Diagnostic(d, cell)).ToList() is { Count: > 0 } written)
                lines = written;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Roslyn itself can crash on some code (e.g. a deconstructing switch at the top level of a script):
            // report it as this cell's compilation error rather than an unhandled exception of the host.
            lines = [$"cell {cell.Number}: the C# compiler failed on this cell ({e.GetType().Name}: {e.Message}); rewrite the construct"];
        }
        if (lines.Count > 0)
        {
            outputs.Error("CompilationError", lines[0], lines);
            execution.Failure = $"CompilationError: {lines[0]}";
            return execution;
        }

        execution.Script = script;
        return execution;
    }

    // Starts a compiled cell from the session's current state; Console.Out/Error are routed to the cell from here on.
    internal Thread Launch(CellExecution execution, Script<object> script, Func<TextWriter, TextWriter>? wrapConsole)
    {
        Console.SetOut(StdoutRouter);
        Console.SetError(StderrRouter);
        var previous = state;
        var outputs = execution.Outputs;
        var console = (Out: outputs.Writer("stdout"), Error: outputs.Writer("stderr"));
        if (wrapConsole is not null) console = (wrapConsole(console.Out), wrapConsole(console.Error));
        var thread = new Thread(() =>
        {
            CurrentOutputs.Value = outputs;
            CurrentConsole.Value = console;
            CurrentExecution.Value = execution;
            try
            {
                // catchException: a failing cell still yields a state, so what it defined before failing stays
                // defined for the next cell, as in .NET Interactive.
                execution.Result = previous is null
                    ? script.RunAsync(globals, _ => true, execution.Token).GetAwaiter().GetResult()
                    : script.RunFromAsync(previous, _ => true, execution.Token).GetAwaiter().GetResult();
            }
            catch (Exception e) { execution.Error = e; }
        }, maxStackSize: 64 << 20) { IsBackground = true, Name = $"notebook cell {execution.Cell.Number}" };
        thread.Start();
        return thread;
    }

    /// <summary>Where display() of the calling thread's cell goes (null outside a cell).</summary>
    internal static CellOutputs? Outputs => CurrentOutputs.Value;

    internal void Commit(ScriptState<object> finished) => state = finished;

    /// <summary>
    /// Called by cell code at the head of each loop body (see <see cref="WithCheckpoints"/>): throws when the cell was
    /// interrupted. Public because the cells' compiled code calls it.
    /// </summary>
    public static void Checkpoint()
    {
        if (CurrentExecution.Value is { Interrupted: true }) throw new OperationCanceledException("the cell was interrupted");
    }

    /// <summary>
    /// The cell's code with a <see cref="Checkpoint"/> call at the head of every loop body, so that an interrupted
    /// cell stops at its next iteration instead of running on. Only text is inserted, no line breaks, so line numbers
    /// stay those of the code as written.
    /// </summary>
    internal static string WithCheckpoints(string code)
    {
        const string Check = "global::MMEureka.Cli.Notebooks.CellSession.Checkpoint();";
        var tree = CSharpSyntaxTree.ParseText(code, new CSharpParseOptions(LanguageVersion.Latest, kind: SourceCodeKind.Script));
        var changes = new List<Microsoft.CodeAnalysis.Text.TextChange>();
        foreach (var loop in tree.GetRoot().DescendantNodes())
        {
            var body = loop switch
            {
                ForStatementSyntax f => f.Statement, CommonForEachStatementSyntax e => e.Statement,
                WhileStatementSyntax w => w.Statement, DoStatementSyntax d => d.Statement, _ => null,
            };
            if (body is null || body.IsMissing) continue;
            if (body is BlockSyntax block)
                changes.Add(new(new(block.OpenBraceToken.Span.End, 0), Check));
            else
            {
                changes.Add(new(new(body.SpanStart, 0), "{" + Check));
                changes.Add(new(new(body.Span.End, 0), "}"));
            }
        }
        // Nested loops can insert at the same position: join those into one change.
        var merged = changes.GroupBy(c => c.Span.Start).OrderBy(g => g.Key)
            .Select(g => new Microsoft.CodeAnalysis.Text.TextChange(new(g.Key, 0), string.Concat(g.Select(c => c.NewText))));
        return changes.Count == 0 ? code : tree.GetText().WithChanges(merged).ToString();
    }

    static bool IsManagedAssembly(string path)
    {
        try { System.Reflection.AssemblyName.GetAssemblyName(path); return true; }
        catch (BadImageFormatException) { return false; }
    }

    internal static (string Ename, string Evalue, IEnumerable<string> Traceback) Describe(Exception failure)
    {
        var error = failure;
        while (error is AggregateException { InnerExceptions.Count: 1 } agg) error = agg.InnerExceptions[0];
        while (error is System.Reflection.TargetInvocationException { InnerException: not null } tie) error = tie.InnerException!;
        // Keep the user's frames and the library's; drop the scripting engine's plumbing below them.
        var trace = error.ToString().Split('\n').Select(l => l.TrimEnd('\r'))
            .Where(l => !l.Contains(" Microsoft.CodeAnalysis.Scripting.") && !l.Contains(" System.Runtime.CompilerServices.")
                        && !l.Contains(" System.Threading.Tasks.") && !l.StartsWith("--- End of stack trace"));
        return (error.GetType().FullName ?? error.GetType().Name, error.Message, trace);
    }

    /// <summary>
    /// True when the submission ends in an expression without a semicolon whose type is not void: the value Roslyn
    /// returns as the submission's result (null is then a real value, not "no result").
    /// </summary>
    internal static bool HasTrailingValue(Script script)
    {
        var compilation = script.GetCompilation();
        var tree = compilation.SyntaxTrees.Last();
        if (tree.GetRoot() is not CompilationUnitSyntax root
            || root.Members.LastOrDefault() is not GlobalStatementSyntax
            {
                Statement: ExpressionStatementSyntax { SemicolonToken.IsMissing: true } statement,
            })
            return false;
        var type = compilation.GetSemanticModel(tree).GetTypeInfo(statement.Expression).Type;
        return type is not null && type.SpecialType != SpecialType.System_Void;
    }

    static string Diagnostic(Diagnostic d, NotebookCell cell)
    {
        var pos = d.Location.GetLineSpan().StartLinePosition;
        return d.Location.IsInSource
            ? $"cell {cell.Number}, line {pos.Line + 1}, col {pos.Character + 1}: error {d.Id}: {d.GetMessage()}"
            : $"cell {cell.Number}: error {d.Id}: {d.GetMessage()}";
    }

    // Console.Out/Error while cells run: each write goes to the writer of the cell the writing thread works for.
    sealed class RoutingWriter(string stream) : TextWriter
    {
        TextWriter? Target => CurrentConsole.Value is { } c ? (stream == "stdout" ? c.Out : c.Error) : null;
        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;
        public override void Write(char value) => Target?.Write(value);
        public override void Write(string? value) => Target?.Write(value);
        public override void Write(char[] buffer, int index, int count) => Target?.Write(buffer, index, count);
        public override void Write(ReadOnlySpan<char> buffer) => Target?.Write(buffer);
        public override void WriteLine(string? value) => Target?.WriteLine(value);
        [System.Diagnostics.CodeAnalysis.AllowNull] public override string NewLine { get => "\n"; set { } }
    }
}

/// <summary>
/// One cell compiled by <see cref="CellSession.Compile"/>: start it, wait for it (with a timeout), interrupt it, then
/// <see cref="Finish"/> it, which writes its error or its trailing value to the outputs and advances the session.
/// </summary>
public sealed class CellExecution
{
    readonly CellSession session;
    readonly CancellationTokenSource cancel = new();
    Thread? worker;
    volatile bool interrupted;

    internal CellExecution(CellSession session, NotebookCell cell, CellOutputs outputs, int executionCount)
    {
        this.session = session;
        Cell = cell;
        Outputs = outputs;
        ExecutionCount = executionCount;
    }

    /// <summary>The cell.</summary>
    public NotebookCell Cell { get; }

    /// <summary>Where its outputs go.</summary>
    public CellOutputs Outputs { get; }

    /// <summary>The execution count its result carries.</summary>
    public int ExecutionCount { get; }

    /// <summary>Why the cell failed ("Name: message"), or null while it has not (set by Compile or Finish).</summary>
    public string? Failure { get; internal set; }

    /// <summary>True once <see cref="Interrupt"/> was called.</summary>
    public bool Interrupted => interrupted;

    internal CancellationToken Token => cancel.Token;
    internal ScriptState<object>? Result { get; set; }
    internal Exception? Error { get; set; }

    /// <summary>The cell's thread (null when it did not start: a directive or compile error), for hosts that join it themselves.</summary>
    public Thread? Worker => worker;

    internal Script<object>? Script { get; set; }

    /// <summary>
    /// Runs the compiled cell on its own thread (64 MB stack). Console.Out/Error go to its outputs, through
    /// <paramref name="wrapConsole"/> when given (e.g. a tee that also watches the lines).
    /// </summary>
    public void Start(Func<TextWriter, TextWriter>? wrapConsole = null)
    {
        if (Failure is not null || Script is null) throw new InvalidOperationException($"cell {Cell.Number} did not compile: {Failure}");
        if (worker is not null) throw new InvalidOperationException($"cell {Cell.Number} was started already");
        worker = session.Launch(this, Script, wrapConsole);
    }

    /// <summary>Waits for the cell's thread; false when it is still running after <paramref name="timeout"/>.</summary>
    public bool Wait(TimeSpan timeout) => worker is null || worker.Join(timeout);

    /// <summary>
    /// Asks the cell to stop: its own loops throw at their next iteration (see CellSession.WithCheckpoints), a blocking wait
    /// (Sleep, Join, Monitor) throws ThreadInterruptedException, and the cancellation token fires. Code that does none
    /// of these (a long call into a library) runs on: .NET cannot abort a thread.
    /// </summary>
    public void Interrupt()
    {
        if (worker is null || interrupted) return;
        interrupted = true;
        cancel.Cancel();
        try { worker.Interrupt(); } catch (ThreadStateException) { }
    }

    /// <summary>
    /// After <see cref="Wait"/> returned true: writes the cell's error, or its trailing value formatted as an
    /// execute_result, advances the session to the cell's state, and returns the failure message or null.
    /// </summary>
    public string? Finish()
    {
        if (Failure is not null || worker is null) return Failure;
        if (Result is not null) session.Commit(Result);
        var error = Error ?? Result?.Exception;
        if (interrupted && error is OperationCanceledException or ThreadInterruptedException)
        {
            var message = $"cell {Cell.Number} was interrupted";
            Outputs.Error("Interrupted", message, [message]);
            return Failure = "Interrupted: " + message;
        }
        if (error is not null)
        {
            var (ename, evalue, traceback) = CellSession.Describe(error);
            Outputs.Error(ename, evalue, traceback);
            return Failure = $"{ename}: {evalue}";
        }
        if (CellSession.HasTrailingValue(Result!.Script))
        {
            // The value's own formatter or ToString runs here, outside the cell: its failure is the cell's failure.
            try { Outputs.Data(Formatting.Format(Result.ReturnValue), ExecutionCount); }
            catch (Exception e)
            {
                var (ename, evalue, traceback) = CellSession.Describe(e);
                Outputs.Error(ename, $"formatting the cell's result failed: {evalue}", traceback);
                return Failure = $"{ename}: {evalue}";
            }
        }
        return null;
    }
}
