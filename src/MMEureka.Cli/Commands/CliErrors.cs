namespace MMEureka.Cli.Commands;

/// <summary>Shared handling for the policy verbs: bad input prints one clear line and exits 1.</summary>
internal static class CliErrors
{
    /// <summary>Runs <paramref name="body"/>; file, format and argument errors become "error: ..." and exit code 1.</summary>
    public static int Run(Func<int> body)
    {
        try { return body(); }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException or InvalidDataException
                                      or UnauthorizedAccessException or InvalidOperationException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    /// <summary>Writes <paramref name="text"/> to a temporary file beside <paramref name="path"/>, then renames it.</summary>
    public static void WriteAtomically(string path, string text) => Runs.RunFolder.WriteAtomically(path, text);
}
