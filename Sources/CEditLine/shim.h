#ifndef MESHDB_CEDITLINE_SHIM_H
#define MESHDB_CEDITLINE_SHIM_H
// libedit's readline-compatible interface (the callback form lets `meshdb sql` watch stdin and its
// own interrupt pipe in one poll loop), plus histedit.h for the native API.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <histedit.h>
#include <editline/readline.h>

// libedit keeps its settings in global variables, which Swift 6 refuses to touch as shared mutable
// state; these accessors are the one place they are read and written (from the editor's thread).
static inline void meshdb_rl_configure(const char *name, const char *word_breaks, rl_completion_func_t *complete) {
    rl_readline_name = strdup(name);
    rl_basic_word_break_characters = strdup(word_breaks);
    rl_completer_word_break_characters = strdup(word_breaks);
    rl_attempted_completion_function = complete;
}
static inline void meshdb_rl_completion_over(void) { rl_attempted_completion_over = 1; }
static inline const char *meshdb_rl_line_buffer(void) { return rl_line_buffer; }
static inline int meshdb_rl_point(void) { return rl_point; }
// Ctrl-C at the prompt: forget the half-typed line, so the next prompt starts empty.
static inline void meshdb_rl_clear_line(void) { rl_replace_line("", 0); rl_free_line_state(); }
static inline FILE *meshdb_stdout(void) { return stdout; }
static inline FILE *meshdb_stderr(void) { return stderr; }
#endif
