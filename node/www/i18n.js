// i18n.js - every string the tablet shows, in one table: key -> [zh-CN, en].
//
// Chinese is the default; the choice is kept in localStorage.  t(key, {n})
// fills {n}-style placeholders.  A key missing from the table shows as the
// key itself and is remembered in `missing` (the browser test asserts it
// stays empty).  This module touches no DOM, so node can import it too.

export const LANGS = ['zh', 'en'];
const LANG_KEY = 'storenode.lang';

export const TABLE = {
  'app.title': ['门店工作台', 'Store console'],
  'lang.zh': ['中文', '中文'],
  'lang.en': ['English', 'English'],

  'common.close': ['关闭', 'Close'],
  'common.cancel': ['取消', 'Cancel'],
  'common.got_it': ['知道了', 'Got it'],
  'common.save': ['保存', 'Save'],

  'keypad.clear': ['清空', 'Clear'],
  'keypad.enter': ['确定', 'OK'],
  'keypad.verify': ['核验', 'Verify'],
  'keypad.too_short': ['至少输入 {n} 位', 'Enter at least {n} digits'],
  'keypad.note_required': ['请填写原因', 'Please give a reason'],
  'form.required': ['请填写「{field}」', '“{field}” is required'],
  'form.invalid': ['「{field}」格式不正确', '“{field}” is not valid'],

  'login.hint': ['请输入员工 PIN 码', 'Enter your staff PIN'],
  'login.enter': ['登录', 'Sign in'],
  'login.too_short': ['PIN 码至少 {n} 位', 'The PIN has at least {n} digits'],
  'login.wrong_pin': ['PIN 码错误，请重试', 'Wrong PIN, try again'],
  'login.locked_out': ['错误次数过多，本平板已锁定，请 {s} 秒后再试', 'Too many wrong PINs: this tablet is locked; try again in {s} s'],
  'login.locked': ['错误次数过多，本平板已暂时锁定，请稍后再试', 'Too many wrong PINs: this tablet is locked for a while'],
  'login.offline': ['未连接到门店主机，正在重连…', 'Not connected to the store box, reconnecting…'],
  'login.session_ended': ['登录已失效，请重新输入 PIN 码', 'Your session ended; please enter your PIN again'],

  'nav.board': ['订单', 'Orders'],
  'nav.history': ['已完成', 'Done'],
  'nav.stock': ['库存', 'Stock'],
  'nav.settings': ['设置', 'Settings'],
  'nav.logout': ['退出', 'Sign out'],
  'role.clerk': ['店员', 'Clerk'],
  'role.manager': ['店长', 'Manager'],

  'conn.connecting': ['连接中…', 'Connecting…'],
  'conn.connected': ['已连接', 'Connected'],
  'conn.reconnecting': ['重新连接中…', 'Reconnecting…'],
  'conn.offline': ['离线', 'Offline'],
  'conn.bar_connecting': ['正在连接门店主机…', 'Connecting to the store box…'],
  'conn.bar_reconnecting': ['与门店主机的连接中断，正在自动重连。', 'Lost the connection to the store box; reconnecting by itself.'],
  'conn.bar_offline': ['离线：连不上门店主机，仍在自动重试。请检查 Wi-Fi。', 'Offline: cannot reach the store box, still retrying. Check the Wi-Fi.'],
  'conn.bar_queued': ['已做的操作会在恢复连接后自动提交。', 'Your actions are kept and sent when the connection is back.'],
  'conn.retry': ['立即重试', 'Retry now'],
  'pending.count': ['{n} 项待保存', '{n} pending'],

  'col.new': ['新订单', 'New'],
  'col.preparing': ['制作中', 'Preparing'],
  'col.ready': ['待取餐', 'Ready'],
  'col.rider': ['等骑手', 'Waiting for rider'],
  'board.empty': ['暂无订单', 'No orders'],

  'kind.pickup': ['自提', 'Pickup'],
  'kind.delivery': ['外卖', 'Delivery'],
  'kind.express': ['快递', 'Express'],

  'status.dispatched': ['新订单', 'New'],
  'status.accepted': ['已接单', 'Accepted'],
  'status.preparing': ['制作中', 'Preparing'],
  'status.ready': ['已出餐', 'Ready'],
  'status.rejected': ['已拒单', 'Rejected'],
  'status.cancelled': ['已取消', 'Cancelled'],
  'status.shipped': ['已发货', 'Shipped'],
  'status.picked_up': ['骑手已取', 'Picked up'],
  'status.completed': ['已完成', 'Completed'],
  'status.delivered': ['已送达', 'Delivered'],

  'milestone.dispatched': ['收到订单', 'Order received'],
  'milestone.accepted': ['接单', 'Accepted'],
  'milestone.preparing': ['开始制作', 'Preparation started'],
  'milestone.ready': ['出餐', 'Ready'],
  'milestone.rider_assigned': ['骑手接单', 'Rider assigned'],
  'milestone.rider_arrived': ['骑手到店', 'Rider arrived'],
  'milestone.shipped': ['发货', 'Shipped'],
  'milestone.picked_up': ['骑手取走', 'Picked up by rider'],
  'milestone.completed': ['顾客取餐', 'Collected by customer'],
  'milestone.delivered': ['送达', 'Delivered'],
  'milestone.rejected': ['拒单', 'Rejected'],
  'milestone.cancelled': ['取消', 'Cancelled'],

  'target.target_accept_s': ['接单时限', 'Target time to accept'],
  'target.target_prep_s': ['制作时限', 'Target preparation time'],
  'target.target_wait_s': ['等待时限', 'Target waiting time'],

  'act.accept': ['接单', 'Accept'],
  'act.prepare': ['开始制作', 'Start'],
  'act.ready': ['出餐', 'Ready'],
  'act.complete': ['取餐核销', 'Hand over (code)'],
  'act.ship': ['发货', 'Ship'],
  'act.handoff': ['交给骑手', 'Hand to rider'],
  'act.rider_arrived': ['骑手已到店', 'Rider is here'],
  'act.reject': ['拒单', 'Reject'],
  'act.cancel': ['取消订单', 'Cancel order'],
  'done.complete': ['#{id} 已取餐', '#{id} collected'],
  'done.ship': ['#{id} 已发货', '#{id} shipped'],
  'done.handoff': ['#{id} 已交给骑手', '#{id} handed to the rider'],
  'done.reject': ['#{id} 已拒单', '#{id} rejected'],
  'done.cancel': ['#{id} 已取消', '#{id} cancelled'],

  'reject.busy': ['门店太忙', 'Too busy'],
  'reject.sold_out': ['商品售罄', 'Sold out'],
  'reject.closed': ['门店已打烊', 'Store closed'],
  'reject.other': ['其他原因', 'Other reason'],

  'order.pending': ['保存中…', 'Saving…'],
  'order.gone': ['这个订单已不在列表中。', 'This order is no longer listed.'],
  'order.code_hint': ['请输入顾客或骑手出示的取餐码', 'Enter the code the customer or rider shows'],
  'order.pickup_title': ['#{id} 取餐核销', '#{id} pickup code'],
  'order.handoff_title': ['#{id} 骑手取餐码', '#{id} rider code'],
  'order.reject_title': ['拒绝订单 #{id}', 'Reject order #{id}'],
  'order.reject_hint': ['请选择拒单原因，顾客会收到通知并退款。', 'Choose a reason; the customer is told and refunded.'],
  'order.ship_title': ['#{id} 发货', 'Ship #{id}'],
  'order.courier': ['快递公司', 'Courier'],
  'order.tracking': ['运单号', 'Tracking number'],
  'order.cancel_title': ['取消订单 #{id}', 'Cancel order #{id}'],
  'order.cancel_reason': ['取消原因', 'Reason'],
  'order.unavailable_title': ['标记缺货', 'Mark unavailable'],
  'order.unavailable_confirm': ['确定「{name}」缺货吗？订单 #{id} 中这件商品将不再制作。', 'Mark “{name}” unavailable? It will not be made for order #{id}.'],
  'order.mark_unavailable': ['缺货', 'Unavailable'],
  'order.unavailable': ['缺货', 'Unavailable'],
  'order.total': ['合计', 'Total'],
  'order.customer': ['顾客', 'Customer'],
  'order.phone_tail': ['尾号', 'phone ends'],
  'order.note': ['备注', 'Note'],
  'order.reminders': ['催单', 'Reminders'],
  'order.reminded_n': ['顾客已催单 {n} 次', 'Customer chased {n} time(s)'],
  'order.reminder_badge': ['顾客催单 ×{n}', 'Customer chasing ×{n}'],
  'order.rider': ['骑手', 'Rider'],
  'order.remind_note': ['催单留言', 'Reminder note'],
  'order.shipment': ['快递', 'Shipment'],
  'order.reject_reason': ['拒单原因', 'Rejected because'],
  'order.cancel_info': ['取消', 'Cancelled by'],
  'cancelby.customer': ['顾客取消', 'the customer'],
  'cancelby.hq': ['总部取消', 'HQ'],
  'cancelby.store': ['门店取消', 'the store'],
  'order.conflict': ['冲突', 'Conflict'],
  'order.conflict_text': ['订单取消时已交付，总部将处理退款', 'Cancelled after hand-over; HQ will sort out the refund'],
  'order.waste': ['报损', 'Waste'],
  'order.waste_text': ['已制作后被取消，请按报损处理', 'Cancelled after it was made: record it as waste'],

  'rider.rider': ['骑手', 'The rider'],
  'rider.arrived': ['{name} 已到店', '{name} is at the store'],
  'rider.unassigned': ['等待分配骑手', 'Waiting for a rider'],
  'rider.eta_unknown': ['到店时间未知', 'arrival unknown'],
  'rider.eta_due': ['预计 {time} 到店', 'due {time}'],
  'rider.eta': ['预计 {time} 到店（{min} 分钟）', 'arrives {time} ({min} min)'],

  'history.title': ['最近完成的订单', 'Recently finished orders'],
  'history.empty': ['还没有完成的订单', 'No finished orders yet'],
  'history.no': ['单号', 'No.'],
  'history.kind': ['类型', 'Kind'],
  'history.status': ['状态', 'Status'],
  'history.time': ['时间', 'Time'],
  'history.items': ['商品', 'Items'],
  'history.total': ['金额', 'Total'],

  'banner.new_orders': ['{n} 个新订单待确认', '{n} new order(s) waiting'],
  'banner.ack': ['知道了，停止提醒', 'Got it, stop the alarm'],
  'banner.acking': ['正在确认…', 'Acknowledging…'],
  'banner.enable_sound': ['点此开启提示音', 'Tap to turn on sound'],

  'alerts.title': ['提醒', 'Alerts'],
  'alerts.empty': ['暂无提醒', 'No alerts'],
  'alerts.open': ['查看', 'Open'],
  'alertkind.new_order': ['新订单', 'New order'],
  'alertkind.reminder': ['催单', 'Reminder'],
  'alertkind.cancelled': ['订单取消', 'Cancelled'],
  'alertkind.low_stock': ['库存不足', 'Low stock'],
  'alertkind.sold_out': ['已沽清', 'Sold out'],
  'alertkind.conflict': ['订单冲突', 'Conflict'],
  'alertkind.waste': ['需要报损', 'Waste'],
  'alert.new_order': ['新订单 #{id}', 'New order #{id}'],
  'alert.reminder': ['顾客催单：#{id}，请尽快处理', 'Customer is chasing order #{id}'],
  'alert.cancelled': ['订单 #{id} 已取消，请停止制作', 'Order #{id} was cancelled: stop making it'],
  'alert.low_stock': ['「{sku}」库存不足', '“{sku}” is running low'],
  'alert.sold_out': ['「{sku}」已沽清', '“{sku}” is sold out'],
  'alert.conflict': ['订单 #{id} 取消与交付冲突，总部将处理', 'Order #{id}: cancelled and handed over; HQ will resolve it'],
  'alert.waste': ['订单 #{id} 制作后被取消，请报损', 'Order #{id} was cancelled after it was made: record the waste'],

  'stock.search': ['搜索商品名称或编码', 'Search name or SKU'],
  'stock.filter_all': ['全部', 'All'],
  'stock.filter_low': ['库存不足', 'Low'],
  'stock.filter_sold_out': ['已沽清', 'Sold out'],
  'stock.stocktake': ['盘点', 'Stocktake'],
  'stock.item': ['商品', 'Item'],
  'stock.on_hand': ['在库', 'On hand'],
  'stock.reserved': ['已占用', 'Reserved'],
  'stock.available': ['可售', 'Available'],
  'stock.sold_out': ['沽清', 'Sold out'],
  'stock.sold_out_on': ['已沽清', 'Sold out'],
  'stock.sold_out_off': ['在售', 'On sale'],
  'stock.sold_out_auto': ['库存为零，系统自动沽清', 'Sold out automatically: no stock'],
  'stock.sold_out_title': ['沽清', 'Mark sold out'],
  'stock.sold_out_confirm': ['确定将「{name}」沽清吗？线上将暂停售卖。', 'Mark “{name}” sold out? It stops selling online.'],
  'stock.empty': ['没有找到商品', 'No items found'],
  'stock.low': ['库存不足', 'Low'],
  'stock.receive': ['入库', 'Receive'],
  'stock.waste': ['报损', 'Waste'],
  'stock.correct': ['调整', 'Adjust'],
  'stock.receive_title': ['入库：{name}', 'Receive: {name}'],
  'stock.waste_title': ['报损：{name}', 'Waste: {name}'],
  'stock.correct_title': ['调整库存：{name}', 'Adjust stock: {name}'],
  'stock.correct_hint': ['输入增减数量（± 切换正负），并写明原因', 'Enter the change (± for minus) and a reason'],
  'stock.qty_hint': ['输入数量', 'Enter the quantity'],
  'stock.note_optional': ['备注（可选）', 'Note (optional)'],
  'stock.note_required': ['原因（必填）', 'Reason (required)'],
  'stock.done_receive': ['「{name}」已入库 {n}', '{n} × “{name}” received'],
  'stock.done_waste': ['「{name}」已报损 {n}', '{n} × “{name}” wasted'],
  'stock.done_correct': ['「{name}」已调整 {n}', '“{name}” adjusted by {n}'],
  'stock.blind_title': ['盲盘模式', 'Blind count'],
  'stock.blind_hint': ['系统库存已隐藏。请逐一清点实物并填写数量，提交后显示差异。', 'System figures are hidden. Count what is on the shelf; the differences show after you submit.'],
  'stock.count_placeholder': ['实盘数量', 'Counted'],
  'stock.count_progress': ['已填写 {n} / {total}', '{n} of {total} counted'],
  'stock.count_submit': ['提交盘点', 'Submit count'],
  'stock.count_confirm': ['提交 {n} 个商品的盘点结果？', 'Submit the count of {n} item(s)?'],
  'stock.count_missing': ['另有 {n} 个商品未填写，不会被盘点。', '{n} item(s) left blank are not counted.'],
  'stock.count_none': ['还没有填写任何数量', 'Nothing counted yet'],
  'stock.count_cancel_title': ['放弃盘点', 'Discard the count'],
  'stock.count_cancel_confirm': ['已填写的数量将丢失，确定放弃吗？', 'The numbers typed so far will be lost. Discard?'],
  'stock.count_discard': ['放弃', 'Discard'],
  'stock.result_title': ['盘点结果', 'Stocktake result'],
  'stock.result_summary': ['共盘点 {n} 个商品，{off} 个有差异，合计差异 {net}', '{n} item(s) counted, {off} with a difference, net {net}'],
  'stock.result_done': ['完成', 'Done'],
  'stock.system': ['系统数量', 'System'],
  'stock.counted': ['实盘数量', 'Counted'],
  'stock.variance': ['差异', 'Difference'],

  'set.title': ['门店设置', 'Store settings'],
  'set.save': ['保存设置', 'Save settings'],
  'set.saved': ['设置已保存', 'Settings saved'],
  'set.nothing': ['没有修改', 'Nothing changed'],
  'set.invalid': ['有数值超出范围，请检查标红的项', 'A value is out of range (marked red)'],
  'set.target_accept_s': ['接单时限', 'Time to accept'],
  'set.target_accept_s_hint': ['超过后订单计时变红', 'order timer turns red after it'],
  'set.target_prep_s': ['制作时限', 'Preparation time'],
  'set.target_prep_s_hint': ['从接单到出餐', 'from accepted to ready'],
  'set.target_wait_s': ['等待时限', 'Waiting time'],
  'set.target_wait_s_hint': ['出餐后等顾客或骑手', 'ready, until collected'],
  'set.auto_accept_s': ['自动接单', 'Auto-accept'],
  'set.auto_accept_s_hint': ['新订单等待多少秒后自动接单，0 = 关闭', 'seconds before a new order is accepted by itself; 0 = off'],
  'set.paused': ['暂停接单（忙碌）', 'Pause orders (busy)'],
  'set.paused_hint': ['暂停后总部不再派新订单到本店', 'HQ sends no new orders while paused'],
  'set.paused_on': ['已暂停', 'Paused'],
  'set.paused_off': ['正常营业', 'Open'],
  'unit.min': ['分钟', 'min'],
  'unit.s': ['秒', 's'],

  'staff.title': ['员工与 PIN 码', 'Staff and PINs'],
  'staff.add': ['添加员工', 'Add staff'],
  'staff.add_title': ['添加员工', 'Add a staff member'],
  'staff.edit_title': ['编辑：{name}', 'Edit: {name}'],
  'staff.loading': ['加载中…', 'Loading…'],
  'staff.load_failed': ['员工列表加载失败', 'Could not load the staff list'],
  'staff.name': ['姓名', 'Name'],
  'staff.id': ['工号', 'Staff ID'],
  'staff.role': ['角色', 'Role'],
  'staff.pin': ['PIN 码（4-8 位数字）', 'PIN (4-8 digits)'],
  'staff.pin_keep': ['新 PIN 码（留空则不修改）', 'New PIN (leave empty to keep)'],
  'staff.me': ['本人', 'you'],
  'staff.edit': ['编辑', 'Edit'],
  'staff.revoke': ['强制下线', 'Sign out everywhere'],
  'staff.revoke_confirm': ['让 {name} 在所有平板上退出登录？', 'Sign {name} out on every tablet?'],
  'staff.revoked': ['{name} 已下线', '{name} signed out'],
  'staff.remove': ['删除', 'Remove'],
  'staff.remove_confirm': ['删除员工 {name}？其 PIN 码将失效。', 'Remove {name}? Their PIN stops working.'],
  'staff.removed': ['已删除 {name}', '{name} removed'],
  'staff.saved': ['已保存 {name}', '{name} saved'],
  'staff.cmd.staff.set': ['保存员工', 'Save staff'],
  'staff.cmd.staff.remove': ['删除员工', 'Remove staff'],
  'staff.cmd.session.revoke': ['强制下线', 'Sign out'],

  'err.bad_json': ['消息格式错误', 'The message was malformed'],
  'err.bad_request': ['请求内容有误', 'The request was not valid'],
  'err.unknown_type': ['主机不支持这个操作', 'The store box does not know this action'],
  'err.unauthenticated': ['请先登录', 'Please sign in first'],
  'err.session_expired': ['登录已过期，请重新登录', 'Your session expired; sign in again'],
  'err.forbidden': ['需要店长权限', 'A manager must do this'],
  'err.wrong_pin': ['PIN 码错误', 'Wrong PIN'],
  'err.locked_out': ['已锁定，请稍后再试', 'Locked; try again later'],
  'err.not_found': ['找不到该订单或商品', 'No such order or item'],
  'err.illegal_transition': ['订单当前状态不能进行此操作', 'Not possible in the order’s current state'],
  'err.wrong_code': ['取餐码不正确，请核对后重试', 'The code does not match; check and try again'],
  'err.rate_limited': ['操作太频繁，请稍候', 'Too many actions; wait a moment'],
  'err.storage_full': ['主机存储已满，操作未保存，请联系店长', 'The store box’s storage is full: not saved. Tell the manager'],
  'err.storage': ['主机存储出错，操作未保存，请重试', 'The store box could not save it; try again'],
  'err.offline': ['未连接', 'Not connected'],
  'err.logout': ['已退出登录，操作未提交', 'Signed out before it was sent'],
  'err.unknown': ['操作失败（{code}）', 'Failed ({code})'],
};

export const missing = new Set();

let current = null;

export function getLang() {
  if (current) return current;
  let saved = null;
  try {
    saved = typeof localStorage === 'undefined' ? null : localStorage.getItem(LANG_KEY);
  } catch (e) {
    saved = null;
  }
  current = LANGS.includes(saved) ? saved : 'zh';
  return current;
}

export function setLang(lang) {
  if (!LANGS.includes(lang)) return;
  current = lang;
  try {
    localStorage.setItem(LANG_KEY, lang);
  } catch (e) {
    // private mode: the choice lasts for this page only
  }
}

export function has(key) {
  return Object.prototype.hasOwnProperty.call(TABLE, key);
}

export function t(key, params) {
  const row = TABLE[key];
  if (!row) {
    missing.add(key);
    return key;
  }
  const text = row[LANGS.indexOf(getLang())] || row[0];
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, name) => (params[name] === undefined ? m : String(params[name])));
}
