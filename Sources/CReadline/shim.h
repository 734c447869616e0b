#ifndef CUBIST_CREADLINE_SHIM_H
#define CUBIST_CREADLINE_SHIM_H
#include <stdio.h>
#include <readline/readline.h>
#include <readline/history.h>

/* Readline's settings are C globals; these accessors keep Swift's strict concurrency
   checking away from them (the REPL touches them only from the main thread). */

static inline void cubist_set_completion(rl_completion_func_t *function, const char *word_breaks) {
    rl_attempted_completion_function = function;
    rl_completer_word_break_characters = (char *)word_breaks;
}

static inline const char *cubist_line_buffer(void) { return rl_line_buffer; }

static inline void cubist_completion_over(void) { rl_attempted_completion_over = 1; }

#endif
