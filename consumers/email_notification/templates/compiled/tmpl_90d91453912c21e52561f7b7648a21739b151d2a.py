from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'email.html.j2'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_action = resolve('action')
    l_0_title = resolve('title')
    l_0_movie_id = resolve('movie_id')
    l_0_rating = resolve('rating')
    l_0_genres = resolve('genres')
    l_0_changes = resolve('changes')
    l_0_change_known = resolve('change_known')
    l_0_event_type = resolve('event_type')
    l_0_event_id = resolve('event_id')
    l_0_time = resolve('time')
    l_0_source = resolve('source')
    try:
        t_1 = environment.tests['none']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No test named 'none' found.")
    pass
    yield '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Movie '
    yield escape((undefined(name='action') if l_0_action is missing else l_0_action))
    yield '</title></head>\n<body>\n'
    if ((undefined(name='action') if l_0_action is missing else l_0_action) == 'created'):
        pass
        yield '<p>A new movie was added to the catalogue.</p>\n'
    elif ((undefined(name='action') if l_0_action is missing else l_0_action) == 'updated'):
        pass
        yield '<p>A movie in the catalogue was updated.</p>\n'
    else:
        pass
        yield '<p>A movie was removed from the catalogue.</p>\n'
    yield '<table>\n'
    if (undefined(name='title') if l_0_title is missing else l_0_title):
        pass
        yield '<tr><th align="left">Title</th><td>'
        yield escape((undefined(name='title') if l_0_title is missing else l_0_title))
        yield '</td></tr>\n'
    yield '<tr><th align="left">Movie</th><td><code>'
    yield escape((undefined(name='movie_id') if l_0_movie_id is missing else l_0_movie_id))
    yield '</code></td></tr>\n'
    if (not t_1((undefined(name='rating') if l_0_rating is missing else l_0_rating))):
        pass
        yield '<tr><th align="left">Rating</th><td>'
        yield escape((undefined(name='rating') if l_0_rating is missing else l_0_rating))
        yield '</td></tr>\n'
    if (not t_1((undefined(name='genres') if l_0_genres is missing else l_0_genres))):
        pass
        yield '<tr><th align="left">Genres</th><td>'
        yield escape((undefined(name='genres') if l_0_genres is missing else l_0_genres))
        yield '</td></tr>\n'
    yield '</table>\n'
    if ((undefined(name='action') if l_0_action is missing else l_0_action) == 'updated'):
        pass
        if (undefined(name='changes') if l_0_changes is missing else l_0_changes):
            pass
            yield '<p>What changed:</p>\n<ul>\n'
            for l_1_change in (undefined(name='changes') if l_0_changes is missing else l_0_changes):
                _loop_vars = {}
                pass
                yield '<li>'
                yield escape(environment.getattr(l_1_change, 'field'))
                yield ': <del>'
                yield escape(environment.getattr(l_1_change, 'before'))
                yield '</del> &rarr; <ins>'
                yield escape(environment.getattr(l_1_change, 'after'))
                yield '</ins></li>\n'
            l_1_change = missing
            yield '</ul>\n'
        elif (undefined(name='change_known') if l_0_change_known is missing else l_0_change_known):
            pass
            yield '<p>The update changed no title, rating or genres.</p>\n'
        else:
            pass
            yield '<p>The event does not say what changed.</p>\n'
    yield '<hr>\n<p><small>Event '
    yield escape((undefined(name='event_type') if l_0_event_type is missing else l_0_event_type))
    yield ' <code>'
    yield escape((undefined(name='event_id') if l_0_event_id is missing else l_0_event_id))
    yield '</code> at '
    yield escape((undefined(name='time') if l_0_time is missing else l_0_time))
    yield ' from '
    yield escape((undefined(name='source') if l_0_source is missing else l_0_source))
    yield '.\nQuote the event id when asking about this email.</small></p>\n</body>\n</html>\n'

blocks = {}
debug_info = '3=29&5=31&7=34&13=41&14=44&16=47&17=49&18=52&20=54&21=57&24=60&25=62&28=65&29=69&32=77&39=84'