using System.Text.Json.Nodes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MMEureka.Cli.Notebooks;

namespace MMEureka.Cli.Kernel;

/// <summary>
/// What the kernel answers about code it has not run: is_complete from Roslyn's parser, completion and inspection
/// from Roslyn's semantic model of the code as the session's next cell (so earlier cells' variables are in scope).
/// Completion lists the symbols in scope (members after a dot) and keywords: no ranking or snippets, which would
/// need Roslyn's Features workspace and seconds of start-up.
/// </summary>
public sealed class CodeAssistance(CellSession session)
{
    static readonly CSharpParseOptions ScriptParse = new(LanguageVersion.Latest, kind: SourceCodeKind.Script);
    static readonly string[] Keywords = SyntaxFacts.GetKeywordKinds().Select(SyntaxFacts.GetText).Where(k => k.Length > 0).Distinct().ToArray();

    /// <summary>is_complete_reply content: complete, incomplete (with an indent) or invalid.</summary>
    public static JsonObject IsComplete(string code)
    {
        var tree = CSharpSyntaxTree.ParseText(code, ScriptParse);
        if (!SyntaxFactory.IsCompleteSubmission(tree))
            return new JsonObject { ["status"] = "incomplete", ["indent"] = code.TrimEnd().EndsWith('{') ? "    " : "" };
        bool invalid = tree.GetDiagnostics().Any(d => d.Severity == DiagnosticSeverity.Error);
        return new JsonObject { ["status"] = invalid ? "invalid" : "complete" };
    }

    /// <summary>complete_reply content for the cursor at <paramref name="cursor"/> (in Unicode code points, as Jupyter counts).</summary>
    public JsonObject Complete(string code, int cursor)
    {
        int pos = Utf16Index(code, cursor);
        int start = pos;
        while (start > 0 && (char.IsLetterOrDigit(code[start - 1]) || code[start - 1] == '_')) start--;
        var prefix = code[start..pos];
        var matches = new List<string>();
        try
        {
            var (model, root) = Analyse(code);
            IEnumerable<ISymbol> symbols;
            bool afterDot = start > 0 && code[start - 1] == '.';
            if (afterDot) symbols = Members(model, root.FindToken(start - 1).Parent, start);
            else symbols = model.LookupSymbols(start);
            matches.AddRange(symbols.Where(s => s.CanBeReferencedByName).Select(s => s.Name));
            if (!afterDot) matches.AddRange(Keywords);
        }
        catch (Exception e) when (e is not OutOfMemoryException) { /* an unanalysable cell completes to nothing */ }
        var list = matches.Where(m => m.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)).Distinct()
            .OrderBy(m => !m.StartsWith(prefix, StringComparison.Ordinal)).ThenBy(m => m, StringComparer.OrdinalIgnoreCase).ToList();
        return new JsonObject
        {
            ["status"] = "ok",
            ["matches"] = new JsonArray(list.Select(m => (JsonNode)m).ToArray()),
            ["cursor_start"] = CodePointIndex(code, start),
            ["cursor_end"] = CodePointIndex(code, pos),
            ["metadata"] = new JsonObject(),
        };
    }

    /// <summary>inspect_reply content: the symbol under the cursor, its kind and its full signature as text/plain.</summary>
    public JsonObject Inspect(string code, int cursor)
    {
        int pos = Utf16Index(code, cursor);
        ISymbol? symbol = null;
        try
        {
            var (model, root) = Analyse(code);
            foreach (var at in new[] { pos, pos - 1 })
            {
                if (at < 0 || at >= code.Length) continue;
                var node = root.FindToken(at).Parent;
                if (node is null) continue;
                symbol = model.GetSymbolInfo(node).Symbol ?? model.GetSymbolInfo(node).CandidateSymbols.FirstOrDefault()
                         ?? model.GetDeclaredSymbol(node) ?? model.GetTypeInfo(node).Type;
                if (symbol is not null) break;
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException) { symbol = null; }
        var data = new JsonObject();
        if (symbol is not null)
        {
            var type = symbol switch { ILocalSymbol l => l.Type, IFieldSymbol f => f.Type, IPropertySymbol p => p.Type, IParameterSymbol a => a.Type, _ => null };
            var text = $"{symbol.Kind.ToString().ToLowerInvariant()} {symbol.ToDisplayString()}" + (type is null ? "" : $"\ntype: {type.ToDisplayString()}");
            data["text/plain"] = text;
        }
        return new JsonObject { ["status"] = "ok", ["found"] = symbol is not null, ["data"] = data, ["metadata"] = new JsonObject() };
    }

    (SemanticModel Model, SyntaxNode Root) Analyse(string code)
    {
        var compilation = session.Continue(code).GetCompilation();
        var tree = compilation.SyntaxTrees.Last();
        return (compilation.GetSemanticModel(tree), tree.GetRoot());
    }

    // After "x.": the members of a namespace or type named on the left (static access), else of the left value's type.
    static IEnumerable<ISymbol> Members(SemanticModel model, SyntaxNode? dotParent, int position)
    {
        var left = dotParent switch
        {
            MemberAccessExpressionSyntax m => m.Expression,
            QualifiedNameSyntax q => q.Left,
            _ => null,
        };
        if (left is null) return [];
        var named = model.GetSymbolInfo(left).Symbol;
        if (named is INamespaceSymbol ns) return model.LookupNamespacesAndTypes(position, ns);
        if (named is ITypeSymbol type) return model.LookupStaticMembers(position, type);
        var valueType = model.GetTypeInfo(left).Type;
        return valueType is null ? [] : model.LookupSymbols(position, valueType, includeReducedExtensionMethods: true).Where(s => !s.IsStatic || s is IMethodSymbol { IsExtensionMethod: true } or IMethodSymbol { MethodKind: MethodKind.ReducedExtension });
    }

    /// <summary>The UTF-16 index of the <paramref name="codePoints"/>-th code point (clamped to the text).</summary>
    public static int Utf16Index(string text, int codePoints)
    {
        int i = 0;
        for (int n = 0; n < codePoints && i < text.Length; n++) i += char.IsHighSurrogate(text[i]) && i + 1 < text.Length ? 2 : 1;
        return i;
    }

    /// <summary>The number of code points before UTF-16 index <paramref name="index"/>.</summary>
    public static int CodePointIndex(string text, int index)
    {
        int n = 0;
        for (int i = 0; i < index; i++) if (!char.IsLowSurrogate(text[i]) || i == 0 || !char.IsHighSurrogate(text[i - 1])) n++;
        return n;
    }
}
